import type { AuthStore, StoredSession, StoredUser } from './auth-store';

/**
 * The `AuthStore` in plain memory, for tests and an in-process server. One JavaScript turn per method, so
 * every method is atomic as the contract asks.
 */
export function createMemoryAuthStore(): AuthStore {
  const users = new Map<string, StoredUser>();
  const sessions = new Map<string, StoredSession>();
  const tokens = new Map<string, { readonly username: string }>();
  const counters = new Map<string, { count: number; resetAt: number }>();
  let closed = false;

  const open = (): void => {
    if (closed) throw new Error('The auth store is closed');
  };
  const endSessionsOf = (username: string): void => {
    for (const [digest, session] of sessions) if (session.username === username) sessions.delete(digest);
  };

  return {
    async addUser(user) {
      open();
      if (users.has(user.username)) return false;
      users.set(user.username, { ...user });
      return true;
    },
    async findUser(username) {
      open();
      return users.get(username);
    },
    async listUsers(now) {
      open();
      return [...users.values()]
        .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
        .map(({ username, createdAt }) => ({
          username,
          createdAt,
          sessions: [...sessions.values()].filter((s) => s.username === username && s.expiresAt > now).length,
          deviceTokens: [...tokens.values()].filter((t) => t.username === username).length,
        }));
    },
    async replacePassword(username, passwordHash) {
      open();
      const user = users.get(username);
      if (!user) return false;
      users.set(username, { ...user, passwordHash });
      endSessionsOf(username);
      return true;
    },
    async removeUser(username) {
      open();
      if (!users.delete(username)) return false;
      endSessionsOf(username);
      for (const [digest, token] of tokens) if (token.username === username) tokens.delete(digest);
      return true;
    },

    async addSession(session) {
      open();
      if (!users.has(session.username)) return false;
      sessions.set(session.idDigest, { ...session });
      return true;
    },
    async findSession(idDigest, now) {
      open();
      const session = sessions.get(idDigest);
      return session && session.expiresAt > now ? session : undefined;
    },
    async extendSession(idDigest, expiresAt) {
      open();
      const session = sessions.get(idDigest);
      if (session) sessions.set(idDigest, { ...session, expiresAt });
    },
    async removeSession(idDigest) {
      open();
      sessions.delete(idDigest);
    },
    async removeExpiredSessions(now) {
      open();
      for (const [digest, session] of sessions) if (session.expiresAt <= now) sessions.delete(digest);
    },

    async addDeviceToken(token) {
      open();
      if (!users.has(token.username)) return false;
      tokens.set(token.tokenDigest, { username: token.username });
      return true;
    },
    async findDeviceToken(tokenDigest) {
      open();
      return tokens.get(tokenDigest)?.username;
    },

    async hit(key, now, windowMs) {
      open();
      const current = counters.get(key);
      const next =
        current && current.resetAt > now
          ? { count: current.count + 1, resetAt: current.resetAt }
          : { count: 1, resetAt: now + windowMs };
      counters.set(key, next);
      // Ended windows are forgotten, or every name ever tried would stay in memory.
      for (const [other, counter] of counters) if (counter.resetAt <= now) counters.delete(other);
      return { ...next };
    },
    async forgive(key, now) {
      open();
      const current = counters.get(key);
      if (current && current.resetAt > now && current.count > 0) current.count -= 1;
    },

    async close() {
      closed = true;
    },
  };
}
