import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { systemClock } from '../../outbox/ids';
import { createUserAdmin, type UserAdmin } from '../../outbox/server';
import { ConfigError, DATABASE_FILE, parseStorageConfig, type StorageConfig } from './config';
import { createNodeAuthCrypto } from './node-auth-crypto';
import { createPgAuthStore } from './pg-auth-store';
import { createSqliteAuthStore } from './sqlite-auth-store';

/**
 * `npm run user -- <command>`: manages the users of `AUTH=users` in the database `npm start` uses (same
 * DATA_DIR rules), also while the server runs. Passwords come from stdin, so scripts can pipe them.
 */

const USAGE = `Usage: npm run user -- <command>

  add <username>      add a user; the password is read from stdin
                      (printf 'secret\\n' | npm run user -- add alice)
  passwd <username>   set a new password (read from stdin); ends the user's sessions
  remove <username>   remove a user with their sessions and device tokens
  list                list users with their live sessions and device tokens
  token <username>    print a new device token for a machine client (Authorization: Bearer <token>);
                      use npm run --silent user -- token <username> to get the token alone

Usernames: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit.
Settings: DATA_DIR or DATABASE_URL, as for npm start (default ./data).
`;

/** Exit codes: 0 done, 1 refused (unknown or duplicate user, bad name or password), 2 usage error. */
export type ExitCode = 0 | 1 | 2;

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Where the password comes from: a pipe, a file, or a terminal (then prompted without echo). */
  readonly stdin: Readable & { readonly isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export async function runUserCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [command, username, ...extra] = argv;
  const needsName = command === 'add' || command === 'passwd' || command === 'remove' || command === 'token';
  const wellFormed = needsName
    ? username !== undefined && extra.length === 0
    : command === 'list' && !username;
  if (command === 'help' || command === '--help') {
    io.out(USAGE);
    return 0;
  }
  if (!wellFormed) {
    io.err(USAGE);
    return 2;
  }

  let storage: StorageConfig;
  try {
    storage = parseStorageConfig(io.env, io.cwd);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`${error.message}\n`);
    return 2;
  }
  const store = storage.database
    ? await createPgAuthStore({ url: storage.database.url, poolSize: 1 })
    : createSqliteAuthStore({ file: join(storage.dataDir, DATABASE_FILE) });
  const admin = createUserAdmin({ store, crypto: createNodeAuthCrypto(), clock: systemClock });
  try {
    return await run(admin, command ?? '', username ?? '', io);
  } finally {
    await store.close();
  }
}

async function run(admin: UserAdmin, command: string, username: string, io: CliIo): Promise<ExitCode> {
  const refused = (message: string): ExitCode => {
    io.err(`error: ${message}\n`);
    return 1;
  };
  switch (command) {
    case 'add':
    case 'passwd': {
      const password = () => readPassword(io, `Password for ${username}: `);
      const result =
        command === 'add'
          ? await admin.addUser(username, password)
          : await admin.setPassword(username, password);
      if (!result.ok) return refused(result.message);
      io.out(
        command === 'add'
          ? `added user ${username}\n`
          : `new password for ${username}; their sessions ended\n`,
      );
      if (io.env.AUTH?.trim() !== 'users') {
        io.err('note: the server asks for users only when it runs with AUTH=users\n');
      }
      return 0;
    }
    case 'remove': {
      const result = await admin.removeUser(username);
      if (!result.ok) return refused(result.message);
      io.out(`removed user ${username}: their sessions and device tokens no longer work\n`);
      return 0;
    }
    case 'list': {
      const users = await admin.listUsers();
      if (users.length === 0) {
        io.out('no users\n');
        return 0;
      }
      const rows = [
        ['username', 'created', 'sessions', 'device tokens'],
        ...users.map((user) => [
          user.username,
          new Date(user.createdAt).toISOString().slice(0, 10),
          String(user.sessions),
          String(user.deviceTokens),
        ]),
      ];
      const widths =
        rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
      for (const row of rows)
        io.out(
          `${row
            .map((cell, column) => cell.padEnd(widths[column] ?? 0))
            .join('  ')
            .trimEnd()}\n`,
        );
      return 0;
    }
    case 'token': {
      const result = await admin.issueDeviceToken(username);
      if (!result.ok) return refused(result.message);
      // The token alone on stdout, so `$(npm run --silent user -- token alice)` captures just it.
      io.out(`${result.token}\n`);
      io.err(
        `device token for ${username}: shown once, only its digest is stored; clients send ` +
          '"Authorization: Bearer <token>". Removing the user revokes it.\n',
      );
      return 0;
    }
    default:
      io.err(USAGE);
      return 2;
  }
}

/** One line from stdin: typed at a prompt without echo on a terminal, otherwise the first line piped in. */
async function readPassword(io: CliIo, prompt: string): Promise<string> {
  if (io.stdin.isTTY && io.stdin.setRawMode) return promptHidden(io, prompt);
  let text = '';
  io.stdin.setEncoding('utf8');
  for await (const chunk of io.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]?.replace(/\r$/, '') ?? '';
}

function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const { stdin } = io;
  io.err(prompt);
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (): void => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off('data', onData);
      io.err('\n');
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          finish();
          resolve(typed);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new Error('cancelled'));
          return;
        }
        typed = char === '\u007f' || char === '\b' ? typed.slice(0, -1) : typed + char;
      }
    };
    stdin.on('data', onData);
  });
}

/** Runs the CLI on this process's arguments, environment and standard streams. */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  return runUserCli(argv, {
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
