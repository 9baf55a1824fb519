import { isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { MAX_BATCH_BYTES } from '../../outbox/protocol/messages';

/** Where the server keeps its data: what `npm start` and `npm run user` must agree on. */
export interface StorageConfig {
  /** Folder of the SQLite file (`outpost.sqlite`), absolute; unused with a `database`. */
  readonly dataDir: string;
  /** DATABASE_URL and its settings: PostgreSQL, shared by any number of instances; null for SQLite. */
  readonly database: DatabaseConfig | null;
}

export interface DatabaseConfig {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly transactionTimeoutMs: number;
  /** A transaction open longer than this is logged and counted as holding pulls back. */
  readonly openTransactionWarnMs: number;
}

/** How the reference server runs, read once from the environment at start. */
export interface ServerConfig extends StorageConfig {
  readonly port: number;
  readonly host: string;
  /** Built PWA to serve, absolute; `null` serves only the API. */
  readonly distDir: string | null;
  /** `none`: sync is open to whoever reaches the server. `users`: sign-in or a device token (docs/server.md). */
  readonly auth: AuthMode;
  /** How long a session lives after its last use (AUTH=users). */
  readonly sessionTtlMs: number;
  /** Mark the session cookie Secure on every answer, not only on requests that came over HTTPS. */
  readonly cookieSecure: boolean;
  /** Reverse proxies in front whose X-Forwarded-* headers are believed; 0 believes none. */
  readonly trustProxyHops: number;
  /** Origins allowed to call the API from another host; `null` (the default) sends no CORS headers. */
  readonly corsOrigins: readonly string[] | null;
  readonly maxBodyBytes: number;
  /** How long SIGTERM waits for in-flight requests before cutting connections. */
  readonly shutdownGraceMs: number;
  /**
   * `user`: with AUTH=users each user sees and changes only the streams they created; `shop`: every user of
   * the server sees and changes every stream (one shop's staff). Without users every stream is everyone's.
   */
  readonly streamSharing: StreamSharing;
  /** How often each instance looks whether the feed moved, while devices listen on its live channel. */
  readonly feedPollMs: number;
}

export type StreamSharing = 'user' | 'shop';

export type AuthMode = 'none' | 'users';

export const DATABASE_FILE = 'outpost.sqlite';

export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  constructor(readonly issues: readonly string[]) {
    super(`Invalid server settings:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const blankToUndefined = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

const integerSetting = (name: string, min: number, max: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, `${name} must be a whole number`),
      v.transform(Number),
      v.number(),
      v.minValue(min, `${name} must be at least ${min}`),
      v.maxValue(max, `${name} must be at most ${max}`),
    ),
  );

const OriginSchema = v.pipe(
  v.string(),
  v.check(
    (origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin),
    'CORS_ORIGIN holds origins like https://app.example.com (scheme and host, no path), comma-separated, or *',
  ),
);

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_SESSION_TTL_MS = 400 * UNIT_MS.d;

const DurationSetting = v.pipe(
  v.string(),
  v.regex(/^\d{1,6}[smhd]$/, 'SESSION_TTL is a whole number and a unit: 30d, 12h, 15m or 90s'),
  v.transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS]),
  v.minValue(UNIT_MS.s, 'SESSION_TTL must be at least 1s'),
  v.maxValue(
    MAX_SESSION_TTL_MS,
    'SESSION_TTL must be at most 400d (browsers keep a cookie 400 days at most)',
  ),
);

const StorageEnvSchema = v.object({
  DATA_DIR: v.optional(v.string()),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^postgres(ql)?:\/\/\S+$/, 'DATABASE_URL is postgres://user:password@host:port/database'),
    ),
  ),
  DATABASE_POOL_SIZE: integerSetting('DATABASE_POOL_SIZE', 1, 500),
  DATABASE_STATEMENT_TIMEOUT_MS: integerSetting('DATABASE_STATEMENT_TIMEOUT_MS', 100, 600_000),
  DATABASE_TRANSACTION_TIMEOUT_MS: integerSetting('DATABASE_TRANSACTION_TIMEOUT_MS', 1_000, 600_000),
  OPEN_TRANSACTION_WARN_MS: integerSetting('OPEN_TRANSACTION_WARN_MS', 100, 3_600_000),
});

const EnvSchema = v.object({
  ...StorageEnvSchema.entries,
  PORT: integerSetting('PORT', 0, 65_535),
  HOST: v.optional(v.pipe(v.string(), v.regex(/^[\w.:-]+$/, 'HOST must be a host name or IP address'))),
  DIST_DIR: v.optional(v.string()),
  AUTH: v.optional(v.picklist(['none', 'users'], 'AUTH is none or users')),
  SESSION_TTL: v.optional(DurationSetting),
  COOKIE_SECURE: v.optional(v.picklist(['0', '1'], 'COOKIE_SECURE is 0 or 1')),
  TRUST_PROXY: integerSetting('TRUST_PROXY', 0, 10),
  // Retired: one secret for every device could not tell users apart, and the app never sent it.
  SYNC_TOKEN: v.optional(
    v.undefined(
      'SYNC_TOKEN is retired: set AUTH=users, add users with `npm run user -- add <name>`, and give ' +
        'machine clients a device token (`npm run user -- token <name>`); see docs/server.md',
    ),
  ),
  CORS_ORIGIN: v.optional(
    v.pipe(
      v.string(),
      v.transform((list) => list.split(',').map((origin) => origin.trim())),
      v.array(OriginSchema),
    ),
  ),
  MAX_BODY_BYTES: integerSetting('MAX_BODY_BYTES', 1024, 16 * MAX_BATCH_BYTES),
  SHUTDOWN_GRACE_MS: integerSetting('SHUTDOWN_GRACE_MS', 0, 600_000),
  STREAM_SHARING: v.optional(v.picklist(['user', 'shop'], 'STREAM_SHARING is user or shop')),
  FEED_POLL_MS: integerSetting('FEED_POLL_MS', 100, 60_000),
});

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the settings `schema` knows from `env` (blank counts as unset), listing every bad value at once. */
function readEnv<S extends v.ObjectSchema<v.ObjectEntries, undefined>>(
  schema: S,
  env: Env,
): v.InferOutput<S> {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema.entries)) input[name] = blankToUndefined(env[name]);
  const parsed = v.safeParse(schema, input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'environment'}: ${issue.message}`),
    );
  }
  return parsed.output;
}

const absoluteFrom = (cwd: string) => (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));

/**
 * Where the data lives, read the way the server reads it: the user CLI uses this so it always opens the
 * database `npm start` opens, without caring about the server's other settings.
 */
export function parseStorageConfig(env: Env, cwd: string): StorageConfig {
  const settings = readEnv(StorageEnvSchema, env);
  const database =
    settings.DATABASE_URL === undefined
      ? null
      : {
          url: settings.DATABASE_URL,
          poolSize: settings.DATABASE_POOL_SIZE ?? 10,
          statementTimeoutMs: settings.DATABASE_STATEMENT_TIMEOUT_MS ?? 10_000,
          transactionTimeoutMs: settings.DATABASE_TRANSACTION_TIMEOUT_MS ?? 15_000,
          openTransactionWarnMs: settings.OPEN_TRANSACTION_WARN_MS ?? 5_000,
        };
  return { dataDir: absoluteFrom(cwd)(settings.DATA_DIR ?? 'data'), database };
}

/**
 * Reads the settings from `env` (blank counts as unset) and resolves folders against `cwd`. Throws
 * `ConfigError` listing every bad value, so one start tells the operator everything to fix.
 */
export function parseConfig(env: Env, cwd: string): ServerConfig {
  const settings = readEnv(EnvSchema, env);
  const absolute = absoluteFrom(cwd);
  const dist = settings.DIST_DIR ?? 'dist';
  return {
    ...parseStorageConfig(env, cwd),
    port: settings.PORT ?? 8080,
    host: settings.HOST ?? '127.0.0.1',
    // `DIST_DIR=none` runs the API alone, e.g. behind a CDN that serves the app.
    distDir: dist === 'none' ? null : absolute(dist),
    auth: settings.AUTH ?? 'none',
    sessionTtlMs: settings.SESSION_TTL ?? 30 * UNIT_MS.d,
    cookieSecure: settings.COOKIE_SECURE === '1',
    trustProxyHops: settings.TRUST_PROXY ?? 0,
    corsOrigins: settings.CORS_ORIGIN ?? null,
    maxBodyBytes: settings.MAX_BODY_BYTES ?? MAX_BATCH_BYTES,
    shutdownGraceMs: settings.SHUTDOWN_GRACE_MS ?? 10_000,
    streamSharing: settings.STREAM_SHARING ?? 'user',
    feedPollMs: settings.FEED_POLL_MS ?? 1_000,
  };
}
