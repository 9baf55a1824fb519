import { withServerPolicy } from '../../outbox';
import { stockCounts } from '../stream-type';
import { stockCountServerPolicy } from './policy';

/** The stock count as a server serves it: the stream type with its rules and decisions. */
export const stockCountsOnServer = withServerPolicy(stockCounts, stockCountServerPolicy);
