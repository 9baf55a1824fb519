import Dexie from 'dexie';
import { expect, it } from 'vitest';
import { all } from '../../../src/outbox/storage/outbox-database';
import { openTestDb } from '../../support/app-db';

// Pages call the projections inside Dexie transactions on the global db, where only Dexie's own promises keep
// the transaction zone across many awaits (docs/performance.md): `all` must be Dexie.Promise.all there.
it('is Dexie.Promise.all as soon as one value is a Dexie promise, and the native Promise.all otherwise', async () => {
  const db = openTestDb({ name: `all-${crypto.randomUUID()}` });
  const native = all([Promise.resolve(1), 2]);
  const mixed = all([Promise.resolve(1), db.meta.get('absent')]);
  expect(native).not.toBeInstanceOf(Dexie.Promise);
  expect(mixed).toBeInstanceOf(Dexie.Promise);
  expect(await native).toEqual([1, 2]);
  expect(await mixed).toEqual([1, undefined]);
  db.close();
});
