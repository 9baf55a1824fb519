import { expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../../src/app/schema-version';
import { outboxStorage } from '../../../src/outbox/device/outbox-storage';
import { DB_NAME } from '../../../src/outbox/page/database';
import { type OutboxDatabase, SYNC_DB_NAME } from '../../../src/outbox/storage/outbox-database';
import { openPlainDatabase } from '../../../src/outbox/storage/plain-database';
import { streamTypes } from '../../../src/plugins';
import { openTestDb } from '../../support/app-db';
import { describeOutboxStorageContract } from './outbox-storage-contract';

/** The storage port's two implementations, held to one contract on fake-indexeddb. */

/** A database as a page's Dexie creates it: the worker's implementation only ever opens one. */
async function pageDatabase() {
  const page = openTestDb({ name: `storage-contract-${crypto.randomUUID()}` });
  await page.open();
  return page;
}

it("is the pages' Dexie database as it stands (type check), with the name and schema the worker opens", () => {
  const page = openTestDb({ name: `storage-verno-${crypto.randomUUID()}` });
  const database: OutboxDatabase = page;
  expect(database.streamTypes).toBe(page.streamTypes);
  expect(page.verno).toBe(SCHEMA_VERSION);
  expect(SYNC_DB_NAME).toBe(DB_NAME);
});

describeOutboxStorageContract('Dexie, in the pages', async () => {
  const page = await pageDatabase();
  return { storage: outboxStorage(page), page, close: () => page.close() };
});

describeOutboxStorageContract('plain IndexedDB, in the service worker', async () => {
  const page = await pageDatabase();
  const worker = openPlainDatabase({
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
