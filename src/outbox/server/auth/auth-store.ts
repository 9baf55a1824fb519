/**
 * What sign-in needs from durable storage: users, sessions, device tokens and the failed-login counters.
 * Implementations: in memory (`memory-auth-store.ts`, tests) and SQLite (`src/server/node/sqlite-auth-store.ts`),
 * both held to one contract suite (test/server/auth-store-contract.ts).
 *
 * Async on purpose, unlike `ServerStorage`'s synchronous transactions: nothing here must commit together
 * with a push, and the next backend (PostgreSQL, several server instances) answers over the network.
 * Every method is one atomic step on the store, so several server instances sharing it stay correct.
 *
 * Secrets never reach a store in clear: session ids and device tokens arrive as digests (`AuthCrypto.digest`),
 * passwords as KDF hashes. Times are milliseconds since the epoch, always passed in, so the store never
 * reads a clock.
 */
export interface AuthStore {
  /** Adds a user; `false` when the username is taken. */
  addUser(user: StoredUser): Promise<boolean>;
  /** The user stored under exactly this name (no case folding: callers normalize); undefined if none. */
  findUser(username: string): Promise<StoredUser | undefined>;
  /** Every user, ascending by name, with how many live sessions and device tokens each has at `now`. */
  listUsers(now: number): Promise<readonly UserSummary[]>;
  /** Replaces the password hash and ends every session of the user; `false` for an unknown user. */
  replacePassword(username: string, passwordHash: string): Promise<boolean>;
  /** Removes the user with their sessions and device tokens; `false` for an unknown user. */
  removeUser(username: string): Promise<boolean>;

  /** Stores a new session; `false` (nothing stored) when the user no longer exists. */
  addSession(session: StoredSession): Promise<boolean>;
  /** The session under this digest while `expiresAt > now`; an expired one is as good as absent. */
  findSession(idDigest: string, now: number): Promise<StoredSession | undefined>;
  /** Moves a live session's expiry; a session removed meanwhile stays removed. */
  extendSession(idDigest: string, expiresAt: number): Promise<void>;
  /** Ends the session at once; an unknown or already removed digest is no error. */
  removeSession(idDigest: string): Promise<void>;
  /** Forgets sessions expired at `now`; housekeeping, never needed for correctness. */
  removeExpiredSessions(now: number): Promise<void>;

  /** Stores a device token's digest for the user; `false` when the user does not exist. */
  addDeviceToken(token: StoredDeviceToken): Promise<boolean>;
  /** The username a device token belongs to. */
  findDeviceToken(tokenDigest: string): Promise<string | undefined>;

  /**
   * Counts one attempt against `key` in a fixed window and answers the count including this one. The window
   * starts at the first attempt after the previous window ended and lasts `windowMs`. Atomic, so attempts
   * arriving at several server instances at once are all counted.
   */
  hit(key: string, now: number, windowMs: number): Promise<RateCount>;
  /** Takes back one attempt counted in the current window (a sign-in that succeeded is not a failure). */
  forgive(key: string, now: number): Promise<void>;

  /** Releases the store; every method called after it rejects. Closing twice is harmless. */
  close(): Promise<void>;
}

/** A user as the store keeps it: a normalized name and a password hash, never the password. */
export interface StoredUser {
  readonly username: string;
  /** The KDF's self-describing hash (`AuthCrypto.hashPassword`). */
  readonly passwordHash: string;
  readonly createdAt: number;
}

/** One line of `listUsers`: what an operator needs to see, no digest or hash. */
export interface UserSummary {
  readonly username: string;
  readonly createdAt: number;
  /** Sessions still live at the `now` the list was asked for. */
  readonly sessions: number;
  /** Device tokens issued to the user; they do not expire, they go with the user. */
  readonly deviceTokens: number;
}

/** A session under the digest of its id; the id itself lives only in the browser's cookie. */
export interface StoredSession {
  readonly idDigest: string;
  readonly username: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A device token under its digest; the token itself is shown once, when it is issued. */
export interface StoredDeviceToken {
  readonly tokenDigest: string;
  readonly username: string;
  readonly createdAt: number;
}

/** The attempts counted in the current window, this one included. */
export interface RateCount {
  readonly count: number;
  /** When the current window ends. */
  readonly resetAt: number;
}
