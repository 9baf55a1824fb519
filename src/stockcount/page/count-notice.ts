import type { StoredServerEvent } from '../../outbox/page';
import type { Notice } from '../../ui/stream-ui';
import { countEventOf } from '../stored-events';

/** The server's decision on a stock count, in words. */
export async function countNotice(event: StoredServerEvent): Promise<Notice | null> {
  const count = countEventOf(event);
  if (count?.kind !== 'server') return null;
  return count.type === 'CountAccepted'
    ? {
        tone: 'success',
        title: `Count ${count.data.countNumber} accepted`,
        body: 'The stock count was accepted by the server.',
        linkLabel: 'Open count',
      }
    : { tone: 'error', title: 'Stock count rejected', body: count.data.reason, linkLabel: 'Open count' };
}
