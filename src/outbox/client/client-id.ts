import * as v from 'valibot';
import { UuidSchema } from '../fields';
import type { IdGenerator } from '../ids';
import type { SyncDb } from '../storage/sync-db';

const CLIENT_ID_KEY = 'clientId';

/**
 * This browser profile's clientId, made once and kept: every event it writes carries it, and the server
 * answers pulls per client. Read and create in one transaction, so two tabs starting together agree.
 */
export async function getOrCreateClientId(db: SyncDb, ids: IdGenerator): Promise<string> {
  return db.transaction('rw', db.meta, async (db) => {
    const row = await db.meta.get(CLIENT_ID_KEY);
    if (row && v.is(UuidSchema, row.value)) return row.value;
    const clientId = ids();
    await db.meta.put({ key: CLIENT_ID_KEY, value: clientId });
    return clientId;
  });
}
