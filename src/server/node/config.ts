import { isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { MAX_BATCH_BYTES } from '../../protocol/messages';

/** How the reference server runs, read once from the environment at start. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  /** Folder of the SQLite file (`outpost.sqlite`), absolute. */
  readonly dataDir: string;
  /** Built PWA to serve, absolute; `null` serves only the API. */
  readonly distDir: string | null;
  /** Bearer token every sync route requires; `null` leaves sync open (fine on 127.0.0.1 only). */
  readonly syncToken: string | null;
  /** Origins allowed to call the API from another host; `null` (the default) sends no CORS headers. */
  readonly corsOrigins: readonly string[] | null;
  readonly maxBodyBytes: number;
  /** How long SIGTERM waits for in-flight requests before cutting connections. */
  readonly shutdownGraceMs: number;
}

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

const EnvSchema = v.object({
  PORT: integerSetting('PORT', 0, 65_535),
  HOST: v.optional(v.pipe(v.string(), v.regex(/^[\w.:-]+$/, 'HOST must be a host name or IP address'))),
  DATA_DIR: v.optional(v.string()),
  DIST_DIR: v.optional(v.string()),
  SYNC_TOKEN: v.optional(
    v.pipe(
      v.string(),
      v.minLength(16, 'SYNC_TOKEN must be at least 16 characters'),
      v.regex(/^[\x21-\x7e]+$/, 'SYNC_TOKEN must be printable ASCII without spaces'),
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
});

const SETTINGS = Object.keys(EnvSchema.entries) as ReadonlyArray<keyof typeof EnvSchema.entries>;

/**
 * Reads the settings from `env` (blank counts as unset) and resolves folders against `cwd`. Throws
 * `ConfigError` listing every bad value, so one start tells the operator everything to fix.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, cwd: string): ServerConfig {
  const input: Record<string, string | undefined> = {};
  for (const name of SETTINGS) input[name] = blankToUndefined(env[name]);
  const parsed = v.safeParse(EnvSchema, input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'environment'}: ${issue.message}`),
    );
  }
  const settings = parsed.output;
  const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(cwd, path));
  const dist = settings.DIST_DIR ?? 'dist';
  return {
    port: settings.PORT ?? 8080,
    host: settings.HOST ?? '127.0.0.1',
    dataDir: absolute(settings.DATA_DIR ?? 'data'),
    // `DIST_DIR=none` runs the API alone, e.g. behind a CDN that serves the app.
    distDir: dist === 'none' ? null : absolute(dist),
    syncToken: settings.SYNC_TOKEN ?? null,
    corsOrigins: settings.CORS_ORIGIN ?? null,
    maxBodyBytes: settings.MAX_BODY_BYTES ?? MAX_BATCH_BYTES,
    shutdownGraceMs: settings.SHUTDOWN_GRACE_MS ?? 10_000,
  };
}
