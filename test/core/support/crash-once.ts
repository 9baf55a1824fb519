import type { OutboxDatabase, OutboxRecords } from '../../../src/outbox/storage/outbox-database';
import type { StoredEvent } from '../../../src/outbox/storage/rows';

/**
 * The database, with the first feed page's transaction killed half-way: it has begun writing (the page's
 * events are appended) when the tab dies, so IndexedDB aborts it and nothing of it stays. A feed page is the
 * one transaction whose scope holds `commands` besides the command pipeline's, which the engine never opens.
 */
export function crashOnceOnFeedPage(db: OutboxDatabase): {
  database: OutboxDatabase;
  crashed: () => boolean;
} {
  let crashed = false;
  const database: OutboxDatabase = {
    get streamTypes() {
      return db.streamTypes;
    },
    transact(mode, scope, work) {
      if (crashed || mode !== 'rw' || !scope.includes('commands')) return db.transact(mode, scope, work);
      return db.transact(mode, scope, (records) => {
        const breaking: OutboxRecords = {
          ...records,
          async appendEvents(events: readonly StoredEvent[]) {
            await records.appendEvents(events);
            crashed = true;
            throw new Error('the tab was killed');
          },
        };
        return work(breaking);
      });
    },
  };
  return { database, crashed: () => crashed };
}
