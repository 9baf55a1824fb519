import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryAuthStore } from '../../src/outbox/server/auth/memory-auth-store';
import { createSqliteAuthStore } from '../../src/server/node/sqlite-auth-store';
import { createSqliteStorage } from '../../src/server/node/sqlite-storage';
import { runAuthStoreContract } from './auth-store-contract';

const root = mkdtempSync(join(tmpdir(), 'outpost-auth-store-'));
const freshFile = (): string => join(mkdtempSync(join(root, 'db-')), 'outpost.sqlite');
afterAll(() => rmSync(root, { recursive: true, force: true }));

runAuthStoreContract('memory', async () => {
  const store = createMemoryAuthStore();
  return { store, cleanup: () => store.close() };
});

runAuthStoreContract('sqlite', async () => {
  const store = createSqliteAuthStore({ file: freshFile() });
  return { store, cleanup: () => store.close() };
});

describe('SQLite auth store', () => {
  const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

  it('shares one file with the sync storage and keeps users across a reopen', async () => {
    const file = freshFile();
    const storage = createSqliteStorage({ file });
    const first = createSqliteAuthStore({ file });
    await first.addUser({ username: 'alice', passwordHash: 'h', createdAt: T0 });
    await first.close();
    const second = createSqliteAuthStore({ file });
    expect(await second.findUser('alice')).toEqual({ username: 'alice', passwordHash: 'h', createdAt: T0 });
    await second.close();
    await storage.close();
  });

  it('counts attempts from two connections to one file as one counter', async () => {
    const file = freshFile();
    const one = createSqliteAuthStore({ file });
    const two = createSqliteAuthStore({ file });
    await one.hit('user:alice', T0, 60_000);
    expect(await two.hit('user:alice', T0 + 1, 60_000)).toEqual({ count: 2, resetAt: T0 + 60_000 });
    await one.close();
    await two.close();
  });

  it('answers with a typed error once closed', async () => {
    const store = createSqliteAuthStore({ file: freshFile() });
    await store.close();
    await expect(store.findUser('alice')).rejects.toMatchObject({ code: 'storage_closed' });
  });
});
