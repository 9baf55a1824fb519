import * as v from 'valibot';
import { UuidSchema } from '../../fields';
import type { IdGenerator } from '../../ids';
import type { OutboxDatabase } from '../../storage/outbox-database';

const CLIENT_ID_KEY = 'clientId';

/**
 * This browser profile's clientId, made once and kept: every event it writes carries it, and the server
 * answers pulls per client. Read and create in one transaction, so two tabs starting together agree.
 */
export function getOrCreateClientId(database: OutboxDatabase, ids: IdGenerator): Promise<string> {
  return database.transact('rw', ['meta'], async (records) => {
    const stored = await records.meta(CLIENT_ID_KEY);
    if (v.is(UuidSchema, stored)) return stored;
    const clientId = ids();
    await records.putMeta(CLIENT_ID_KEY, clientId);
    return clientId;
  });
}
