import type { OutpostDb } from './db';
import { projectEvents } from './projections';

const PAGE_SIZE = 500;

/**
 * Throws the read models away and replays the whole event store into them, in position order and in bounded
 * pages so memory stays flat however long the history is. One transaction: nobody ever sees half a rebuild,
 * and a failure leaves the old tables in place.
 */
export async function rebuildReadModels(db: OutpostDb, pageSize = PAGE_SIZE): Promise<void> {
  await db.transaction(
    'rw',
    [db.events, db.outbox, db.leases, db.streams, db.orderSummaries, db.orderDetails],
    async () => {
      await Promise.all([db.streams.clear(), db.orderSummaries.clear(), db.orderDetails.clear()]);
      let after = 0;
      for (;;) {
        const page = await db.events.where('position').above(after).limit(pageSize).toArray();
        const last = page.at(-1);
        if (last?.position === undefined) break;
        // projectEvents also reads each touched order's outbox rows, so sync state comes back too.
        await projectEvents(db, page);
        after = last.position;
      }
    },
  );
}
