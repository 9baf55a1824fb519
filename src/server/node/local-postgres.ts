import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of its own, started from Debian's `postgresql` binaries on a loopback port: what
 * `npm run start:cluster` runs under `./data/pg`, and the throw-away cluster the tests share. `initdb`
 * refuses to run as root, so as root the cluster belongs to the unprivileged `postgres` user.
 */

export class PostgresMissingError extends Error {
  constructor() {
    super(
      'PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/initdb. Install it with ' +
        '`apt-get install -y postgresql` (or set TEST_DATABASE_URL / DATABASE_URL to a server you run).',
    );
    this.name = 'PostgresMissingError';
  }
}

/** The newest installed PostgreSQL's bin folder (POSTGRES_BIN overrides). */
export function postgresBinDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.POSTGRES_BIN) {
    if (!existsSync(join(env.POSTGRES_BIN, 'initdb'))) throw new PostgresMissingError();
    return env.POSTGRES_BIN;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) throw new PostgresMissingError();
  return join(root, newest, 'bin');
}

export interface LocalPostgresOptions {
  /** The cluster's folder: created and initialised when it holds no cluster yet. */
  readonly dataDir: string;
  /** Loopback port; a free one when absent. */
  readonly port?: number;
  /**
   * Skip fsync: only for throw-away test clusters. A crash of PostgreSQL (not of the machine) still loses
   * nothing committed, because a commit has written its WAL to the kernel before it returns.
   */
  readonly noFsync?: boolean;
}

export interface LocalPostgres {
  readonly port: number;
  readonly dataDir: string;
  /** `postgres://outpost@127.0.0.1:<port>/<database>` (trust authentication, loopback only). */
  url(database?: string): string;
  /** Stops it; `immediate` is a crash (no checkpoint): the next start runs recovery. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same folder and port. */
  start(): Promise<void>;
}

const SUPERUSER = 'outpost';

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? systemUser('postgres') : null;
  const run = (program: string, args: readonly string[]) =>
    exec(
      asRoot ? 'runuser' : join(bin, program),
      asRoot ? ['-u', 'postgres', '--', join(bin, program), ...args] : args,
    );

  mkdirSync(options.dataDir, { recursive: true });
  if (owner) chownSync(options.dataDir, owner.uid, owner.gid);
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    await run('initdb', [
      '-D',
      options.dataDir,
      '-U',
      SUPERUSER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
  }
  const port = options.port ?? (await freePort());
  const settings = [
    `-p ${port}`,
    // TCP on loopback only: a Unix socket path could pass the 107-byte limit in a deep folder.
    "-k ''",
    '-c listen_addresses=127.0.0.1',
    ...(options.noFsync ? ['-c fsync=off', '-c full_page_writes=off'] : []),
  ].join(' ');
  const start = () =>
    run('pg_ctl', [
      '-D',
      options.dataDir,
      '-o',
      settings,
      '-l',
      join(options.dataDir, 'server.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]).then(() => undefined);
  const url = (database = 'postgres') => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
  await start();
  return {
    port,
    dataDir: options.dataDir,
    url,
    start,
    async stop(mode = 'fast') {
      await run('pg_ctl', ['-D', options.dataDir, '-m', mode, '-w', 'stop']);
    },
  };
}

function exec(program: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${program} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

function systemUser(name: string): { uid: number; gid: number } {
  // Read once at start: /etc/passwd is the one place that always knows a system user.
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line)
    throw new Error(`No system user ${name}: PostgreSQL's package creates it (apt-get install postgresql)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A port nobody listens on right now: the OS picks it, we release it and hand it over. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
