import { withServerPolicy } from '../../outbox';
import { orders } from '../stream-type';
import { orderServerPolicy } from './policy';

/** The order as a server serves it: the stream type with its rules and decisions. */
export const ordersOnServer = withServerPolicy(orders, orderServerPolicy);
