import type pg from 'pg';
import type { AuthStore, StoredSession, StoredUser } from '../../outbox/server';
import {
  createPgPool,
  DEFAULT_PG_SETTINGS,
  migratePg,
  type PgSettings,
  PgStorageError,
  translatePgError,
} from './pg-database';

export interface PgAuthStoreOptions extends Partial<Omit<PgSettings, 'url'>> {
  readonly url: string;
  /** Where a lost pooled connection is reported. */
  readonly onConnectionLost?: (error: Error) => void;
}

/**
 * The `AuthStore` on the PostgreSQL database the sync storage uses, so every server instance signs the same
 * people in and counts their failed attempts together. Each method is one statement (atomic on its own), or
 * one short transaction; foreign keys remove a user's sessions and tokens with the user.
 */
export async function createPgAuthStore(options: PgAuthStoreOptions): Promise<AuthStore> {
  const pool = createPgPool(
    { ...DEFAULT_PG_SETTINGS, poolSize: 4, ...options },
    options.onConnectionLost ?? (() => undefined),
  );
  try {
    await migratePg(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  let closed = false;
  const query = async <R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) => {
    if (closed) throw new PgStorageError('storage_closed', 'The PostgreSQL auth store is closed');
    try {
      return await pool.query<R>(text, values as unknown[]);
    } catch (error) {
      throw translatePgError(error);
    }
  };
  /** An insert refused by a taken key or an unknown user is an answer (`false`), not a failure. */
  const inserted = async (text: string, values: readonly unknown[]): Promise<boolean> => {
    try {
      await query(text, values);
      return true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '23505' || code === '23503') return false;
      throw error;
    }
  };

  return {
    addUser: (user: StoredUser) =>
      inserted('INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3)', [
        user.username,
        user.passwordHash,
        user.createdAt,
      ]),
    async findUser(username) {
      const { rows } = await query<{ username: string; password_hash: string; created_at: number }>(
        'SELECT username, password_hash, created_at FROM users WHERE username = $1',
        [username],
      );
      const row = rows[0];
      return row && { username: row.username, passwordHash: row.password_hash, createdAt: row.created_at };
    },
    async listUsers(now) {
      const { rows } = await query<{
        username: string;
        createdAt: number;
        sessions: number;
        deviceTokens: number;
      }>(
        `SELECT u.username, u.created_at AS "createdAt",
           (SELECT count(*) FROM sessions s WHERE s.username = u.username AND s.expires_at > $1) AS sessions,
           (SELECT count(*) FROM device_tokens t WHERE t.username = u.username) AS "deviceTokens"
         FROM users u ORDER BY u.username COLLATE "C"`,
        [now],
      );
      return rows.map((row) => ({ ...row }));
    },
    async replacePassword(username, passwordHash) {
      // One statement: the password changes and the sessions end together, or neither does.
      const { rows } = await query<{ changed: number }>(
        `WITH changed AS (UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING username),
              ended AS (DELETE FROM sessions WHERE username IN (SELECT username FROM changed))
         SELECT count(*) AS changed FROM changed`,
        [username, passwordHash],
      );
      return (rows[0]?.changed ?? 0) > 0;
    },
    async removeUser(username) {
      return ((await query('DELETE FROM users WHERE username = $1', [username])).rowCount ?? 0) > 0;
    },
    addSession: (session: StoredSession) =>
      inserted('INSERT INTO sessions (id_digest, username, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        session.idDigest,
        session.username,
        session.createdAt,
        session.expiresAt,
      ]),
    async findSession(idDigest, now) {
      const { rows } = await query<{
        id_digest: string;
        username: string;
        created_at: number;
        expires_at: number;
      }>(
        'SELECT id_digest, username, created_at, expires_at FROM sessions WHERE id_digest = $1 AND expires_at > $2',
        [idDigest, now],
      );
      const row = rows[0];
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
      await query('UPDATE sessions SET expires_at = $2 WHERE id_digest = $1', [idDigest, expiresAt]);
    },
    async removeSession(idDigest) {
      await query('DELETE FROM sessions WHERE id_digest = $1', [idDigest]);
    },
    async removeExpiredSessions(now) {
      await query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
    },
    addDeviceToken: (token) =>
      inserted('INSERT INTO device_tokens (token_digest, username, created_at) VALUES ($1, $2, $3)', [
        token.tokenDigest,
        token.username,
        token.createdAt,
      ]),
    async findDeviceToken(tokenDigest) {
      const { rows } = await query<{ username: string }>(
        'SELECT username FROM device_tokens WHERE token_digest = $1',
        [tokenDigest],
      );
      return rows[0]?.username;
    },
    async hit(key, now, windowMs) {
      // Ended windows are forgotten, or every name ever tried would stay in the table.
      await query('DELETE FROM rate_limits WHERE reset_at <= $1 AND key <> $2', [now, key]);
      // One statement, so attempts arriving at several instances at once are all counted.
      const { rows } = await query<{ count: number; reset_at: number }>(
        `INSERT INTO rate_limits AS r (key, count, reset_at) VALUES ($1, 1, $3)
         ON CONFLICT (key) DO UPDATE SET
           count    = CASE WHEN r.reset_at <= $2 THEN 1 ELSE r.count + 1 END,
           reset_at = CASE WHEN r.reset_at <= $2 THEN $3 ELSE r.reset_at END
         RETURNING count, reset_at`,
        [key, now, now + windowMs],
      );
      const row = rows[0];
      if (!row) throw new PgStorageError('storage_corrupt', 'Counting an attempt returned nothing');
      return { count: row.count, resetAt: row.reset_at };
    },
    async forgive(key, now) {
      await query('UPDATE rate_limits SET count = count - 1 WHERE key = $1 AND reset_at > $2 AND count > 0', [
        key,
        now,
      ]);
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
