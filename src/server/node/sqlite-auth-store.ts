import type { AuthStore, StoredSession, StoredUser, UserSummary } from '../../outbox/server';
import { isConstraintViolation, openSqliteDatabase, SqliteStorageError } from './sqlite-database';

export interface SqliteAuthStoreOptions {
  /** The server's database file (the same one the sync storage uses); `:memory:` for a throwaway one. */
  readonly file: string;
}

interface UserRow {
  username: string;
  password_hash: string;
  created_at: number;
}
interface SessionRow {
  id_digest: string;
  username: string;
  created_at: number;
  expires_at: number;
}

/**
 * The `AuthStore` on the server's SQLite file, through its own connection. Each method is one statement or
 * one IMMEDIATE transaction, so the rate counters stay exact with other processes on the same file (the
 * user CLI, a second server), and foreign keys remove a user's sessions and tokens with the user.
 */
export function createSqliteAuthStore(options: SqliteAuthStoreOptions): AuthStore {
  const db = openSqliteDatabase(options.file);

  const insertUser = db.prepare<[string, string, number]>(
    'INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)',
  );
  const selectUser = db.prepare<[string], UserRow>(
    'SELECT username, password_hash, created_at FROM users WHERE username = ?',
  );
  const selectUsers = db.prepare<[{ now: number }], UserSummary>(
    `SELECT u.username, u.created_at AS createdAt,
       (SELECT COUNT(*) FROM sessions s WHERE s.username = u.username AND s.expires_at > @now) AS sessions,
       (SELECT COUNT(*) FROM device_tokens t WHERE t.username = u.username) AS deviceTokens
     FROM users u ORDER BY u.username`,
  );
  const updatePassword = db.prepare<[string, string]>(
    'UPDATE users SET password_hash = ? WHERE username = ?',
  );
  const deleteSessionsOf = db.prepare<[string]>('DELETE FROM sessions WHERE username = ?');
  const deleteUser = db.prepare<[string]>('DELETE FROM users WHERE username = ?');

  const insertSession = db.prepare<[string, string, number, number]>(
    'INSERT INTO sessions (id_digest, username, created_at, expires_at) VALUES (?, ?, ?, ?)',
  );
  const selectSession = db.prepare<[string, number], SessionRow>(
    'SELECT id_digest, username, created_at, expires_at FROM sessions WHERE id_digest = ? AND expires_at > ?',
  );
  const updateSessionExpiry = db.prepare<[number, string]>(
    'UPDATE sessions SET expires_at = ? WHERE id_digest = ?',
  );
  const deleteSession = db.prepare<[string]>('DELETE FROM sessions WHERE id_digest = ?');
  const deleteExpiredSessions = db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?');

  const insertToken = db.prepare<[string, string, number]>(
    'INSERT INTO device_tokens (token_digest, username, created_at) VALUES (?, ?, ?)',
  );
  const selectToken = db
    .prepare<[string], string>('SELECT username FROM device_tokens WHERE token_digest = ?')
    .pluck();

  // One statement, so the read and the write of a count cannot be split by another connection. SQLite
  // evaluates every SET expression against the row as it was, so both CASEs see the old reset_at.
  const upsertHit = db.prepare<
    [{ key: string; now: number; resetAt: number }],
    { count: number; reset_at: number }
  >(
    `INSERT INTO rate_limits (key, count, reset_at) VALUES (@key, 1, @resetAt)
     ON CONFLICT (key) DO UPDATE SET
       count    = CASE WHEN reset_at <= @now THEN 1 ELSE count + 1 END,
       reset_at = CASE WHEN reset_at <= @now THEN @resetAt ELSE reset_at END
     RETURNING count, reset_at`,
  );
  const deleteEndedWindows = db.prepare<[number]>('DELETE FROM rate_limits WHERE reset_at <= ?');
  const decrementHit = db.prepare<[string, number]>(
    'UPDATE rate_limits SET count = count - 1 WHERE key = ? AND reset_at > ? AND count > 0',
  );

  const inserted = (insert: () => void): boolean => {
    try {
      insert();
      return true;
    } catch (error) {
      // A taken primary key, or a foreign key naming a user that does not exist.
      if (isConstraintViolation(error)) return false;
      throw error;
    }
  };

  let closed = false;
  // Every method runs synchronously on better-sqlite3; `async` turns a thrown error into a rejection.
  const open = (): void => {
    if (closed) throw new SqliteStorageError('storage_closed', 'The SQLite auth store is closed');
  };

  return {
    async addUser(user: StoredUser) {
      open();
      return inserted(() => insertUser.run(user.username, user.passwordHash, user.createdAt));
    },
    async findUser(username) {
      open();
      const row = selectUser.get(username);
      return row && { username: row.username, passwordHash: row.password_hash, createdAt: row.created_at };
    },
    async listUsers(now) {
      open();
      return selectUsers.all({ now }).map((row) => ({ ...row }));
    },
    async replacePassword(username, passwordHash) {
      open();
      return db
        .transaction(() => {
          if (updatePassword.run(passwordHash, username).changes === 0) return false;
          deleteSessionsOf.run(username);
          return true;
        })
        .immediate();
    },
    async removeUser(username) {
      open();
      // Sessions and device tokens go with the row (ON DELETE CASCADE).
      return deleteUser.run(username).changes > 0;
    },

    async addSession(session: StoredSession) {
      open();
      return inserted(() =>
        insertSession.run(session.idDigest, session.username, session.createdAt, session.expiresAt),
      );
    },
    async findSession(idDigest, now) {
      open();
      const row = selectSession.get(idDigest, now);
      return (
        row && {
          idDigest: row.id_digest,
          username: row.username,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      );
    },
    async extendSession(idDigest, expiresAt) {
      open();
      updateSessionExpiry.run(expiresAt, idDigest);
    },
    async removeSession(idDigest) {
      open();
      deleteSession.run(idDigest);
    },
    async removeExpiredSessions(now) {
      open();
      deleteExpiredSessions.run(now);
    },

    async addDeviceToken(token) {
      open();
      return inserted(() => insertToken.run(token.tokenDigest, token.username, token.createdAt));
    },
    async findDeviceToken(tokenDigest) {
      open();
      return selectToken.get(tokenDigest);
    },

    async hit(key, now, windowMs) {
      open();
      return db
        .transaction(() => {
          // Ended windows are forgotten, or every name ever tried would stay in the file.
          deleteEndedWindows.run(now);
          const row = upsertHit.get({ key, now, resetAt: now + windowMs });
          if (!row) throw new SqliteStorageError('storage_corrupt', 'Counting an attempt returned nothing');
          return { count: row.count, resetAt: row.reset_at };
        })
        .immediate();
    },
    async forgive(key, now) {
      open();
      decrementHit.run(key, now);
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
