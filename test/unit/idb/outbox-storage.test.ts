import { openAppDb } from '../../../src/app/schema';
import { SCHEMA_VERSION } from '../../../src/app/schema-version';
import { outboxStorage } from '../../../src/outbox/storage/outbox-storage';
import { createPlainSyncDb } from '../../../src/outbox/storage/plain-db';
import { streamTypes } from '../../../src/stream-types';
import { describeOutboxStorageContract } from './outbox-storage-contract';

/** The storage port's two implementations, held to one contract on fake-indexeddb. */

/** A database as a page's Dexie creates it: the worker's implementation only ever opens one. */
async function pageDatabase() {
  const page = openAppDb({ name: `storage-contract-${crypto.randomUUID()}` });
  await page.open();
  return page;
}

describeOutboxStorageContract('Dexie, in the pages', async () => {
  const page = await pageDatabase();
  return { storage: outboxStorage(page), page, close: () => page.close() };
});

describeOutboxStorageContract('plain IndexedDB, in the service worker', async () => {
  const page = await pageDatabase();
  const worker = createPlainSyncDb({
    name: page.name,
    streamTypes,
    schemaVersion: SCHEMA_VERSION,
    notify: () => undefined,
  });
  return {
    storage: outboxStorage(worker),
    page,
    close: () => {
      worker.close();
      page.close();
    },
  };
});
