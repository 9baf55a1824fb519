import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthStore, StoredSession } from '../../src/outbox/server/auth/auth-store';

/**
 * What every `AuthStore` must do: run it with `runAuthStoreContract('sqlite', async () => ({ store, cleanup }))`.
 * Each test gets a fresh, empty store. Times are plain numbers: a store never reads a clock.
 */
export function runAuthStoreContract(
  name: string,
  makeStore: () => Promise<{ store: AuthStore; cleanup(): Promise<void> }>,
): void {
  describe(`AuthStore contract: ${name}`, () => {
    let store: AuthStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const made = await makeStore();
      store = made.store;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup();
    });

    const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
    const DAY = 24 * 3600 * 1000;
    const user = (username: string, passwordHash = `hash-of-${username}`) => ({
      username,
      passwordHash,
      createdAt: T0,
    });
    const session = (idDigest: string, username: string, expiresAt = T0 + DAY): StoredSession => ({
      idDigest,
      username,
      createdAt: T0,
      expiresAt,
    });

    describe('users', () => {
      it('adds a user once and finds it by name', async () => {
        expect(await store.addUser(user('alice'))).toBe(true);
        expect(await store.addUser(user('alice', 'another-hash'))).toBe(false);
        expect(await store.findUser('alice')).toEqual(user('alice'));
        expect(await store.findUser('bob')).toBeUndefined();
      });

      it('lists users by name with their live sessions and device tokens', async () => {
        await store.addUser(user('carol'));
        await store.addUser(user('alice'));
        await store.addSession(session('s1', 'alice'));
        await store.addSession(session('s2', 'alice', T0 - 1));
        await store.addDeviceToken({ tokenDigest: 't1', username: 'carol', createdAt: T0 });
        expect(await store.listUsers(T0)).toEqual([
          { username: 'alice', createdAt: T0, sessions: 1, deviceTokens: 0 },
          { username: 'carol', createdAt: T0, sessions: 0, deviceTokens: 1 },
        ]);
      });

      it('replaces a password and ends that user’s sessions only', async () => {
        await store.addUser(user('alice'));
        await store.addUser(user('bob'));
        await store.addSession(session('alice-1', 'alice'));
        await store.addSession(session('bob-1', 'bob'));
        await store.addDeviceToken({ tokenDigest: 'alice-token', username: 'alice', createdAt: T0 });
        expect(await store.replacePassword('alice', 'new-hash')).toBe(true);
        expect(await store.replacePassword('nobody', 'new-hash')).toBe(false);
        expect((await store.findUser('alice'))?.passwordHash).toBe('new-hash');
        expect(await store.findSession('alice-1', T0)).toBeUndefined();
        expect(await store.findSession('bob-1', T0)).toEqual(session('bob-1', 'bob'));
        // A device token is a separate credential, revoked by removing the user.
        expect(await store.findDeviceToken('alice-token')).toBe('alice');
      });

      it('removes a user with every session and device token, and nobody else’s', async () => {
        await store.addUser(user('alice'));
        await store.addUser(user('bob'));
        await store.addSession(session('alice-1', 'alice'));
        await store.addSession(session('bob-1', 'bob'));
        await store.addDeviceToken({ tokenDigest: 'alice-token', username: 'alice', createdAt: T0 });
        await store.addDeviceToken({ tokenDigest: 'bob-token', username: 'bob', createdAt: T0 });
        expect(await store.removeUser('alice')).toBe(true);
        expect(await store.removeUser('alice')).toBe(false);
        expect(await store.findUser('alice')).toBeUndefined();
        expect(await store.findSession('alice-1', T0)).toBeUndefined();
        expect(await store.findDeviceToken('alice-token')).toBeUndefined();
        expect(await store.findSession('bob-1', T0)).toBeDefined();
        expect(await store.findDeviceToken('bob-token')).toBe('bob');
        // Added again, the name starts with no credentials from before.
        await store.addUser(user('alice'));
        expect(await store.findDeviceToken('alice-token')).toBeUndefined();
      });
    });

    describe('sessions', () => {
      it('finds a session until it expires, and never after', async () => {
        await store.addUser(user('alice'));
        expect(await store.addSession(session('s1', 'alice', T0 + 1000))).toBe(true);
        expect(await store.findSession('s1', T0 + 999)).toEqual(session('s1', 'alice', T0 + 1000));
        expect(await store.findSession('s1', T0 + 1000)).toBeUndefined();
        expect(await store.findSession('unknown', T0)).toBeUndefined();
      });

      it('refuses a session for a user that does not exist', async () => {
        expect(await store.addSession(session('s1', 'ghost'))).toBe(false);
        expect(await store.findSession('s1', T0)).toBeUndefined();
      });

      it('extends a live session, and does not bring back a removed one', async () => {
        await store.addUser(user('alice'));
        await store.addSession(session('s1', 'alice', T0 + 1000));
        await store.extendSession('s1', T0 + 5000);
        expect((await store.findSession('s1', T0 + 4000))?.expiresAt).toBe(T0 + 5000);
        await store.removeSession('s1');
        await store.extendSession('s1', T0 + 9000);
        expect(await store.findSession('s1', T0)).toBeUndefined();
        await store.removeSession('never-existed');
      });

      it('forgets expired sessions on housekeeping and keeps live ones', async () => {
        await store.addUser(user('alice'));
        await store.addSession(session('old', 'alice', T0));
        await store.addSession(session('live', 'alice', T0 + DAY));
        await store.removeExpiredSessions(T0);
        expect(await store.listUsers(T0 - 1)).toEqual([
          { username: 'alice', createdAt: T0, sessions: 1, deviceTokens: 0 },
        ]);
        expect(await store.findSession('live', T0)).toBeDefined();
      });
    });

    describe('device tokens', () => {
      it('maps a token digest to its user, and refuses one for an unknown user', async () => {
        await store.addUser(user('alice'));
        expect(await store.addDeviceToken({ tokenDigest: 't1', username: 'alice', createdAt: T0 })).toBe(
          true,
        );
        expect(await store.addDeviceToken({ tokenDigest: 't2', username: 'ghost', createdAt: T0 })).toBe(
          false,
        );
        expect(await store.findDeviceToken('t1')).toBe('alice');
        expect(await store.findDeviceToken('t2')).toBeUndefined();
      });
    });

    describe('rate counters', () => {
      it('counts attempts in a fixed window that starts at the first one', async () => {
        expect(await store.hit('user:alice', T0, 60_000)).toEqual({ count: 1, resetAt: T0 + 60_000 });
        expect(await store.hit('user:alice', T0 + 59_999, 60_000)).toEqual({
          count: 2,
          resetAt: T0 + 60_000,
        });
        expect(await store.hit('user:bob', T0 + 10, 60_000)).toEqual({ count: 1, resetAt: T0 + 60_010 });
        // The window has ended: counting starts over, in a new window.
        expect(await store.hit('user:alice', T0 + 60_000, 60_000)).toEqual({
          count: 1,
          resetAt: T0 + 120_000,
        });
      });

      it('takes back one attempt in the current window, never below zero, never in an ended one', async () => {
        await store.hit('addr:1', T0, 60_000);
        await store.hit('addr:1', T0, 60_000);
        await store.forgive('addr:1', T0 + 1);
        expect(await store.hit('addr:1', T0 + 2, 60_000)).toEqual({ count: 2, resetAt: T0 + 60_000 });
        await store.forgive('addr:1', T0);
        await store.forgive('addr:1', T0);
        await store.forgive('addr:1', T0);
        expect((await store.hit('addr:1', T0 + 3, 60_000)).count).toBe(1);
        await store.forgive('never-counted', T0);
        expect((await store.hit('never-counted', T0, 60_000)).count).toBe(1);
      });

      it('counts every one of many attempts arriving at once', async () => {
        const counts = await Promise.all(
          Array.from({ length: 20 }, () => store.hit('user:race', T0, 60_000)),
        );
        expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
      });
    });
  });
}
