import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteAuthStore } from '../../src/server/node/sqlite-auth-store';
import { type ExitCode, runUserCli } from '../../src/server/node/user-cli';
import { runUserCommand, tempDir } from './support/server-process';

/**
 * `npm run user`: in process for each rule (the real scrypt, a temp DATA_DIR), and once as a real process for
 * exit codes as a shell sees them. http-auth.test.ts runs it through npm against a running server.
 */

const temp = tempDir('user-cli');
afterAll(() => temp.remove());

let folders = 0;
const freshDataDir = (): string => {
  folders += 1;
  return join(temp.path, `data-${folders}`);
};

async function cli(
  dataDir: string,
  argv: string[],
  stdin = '',
): Promise<{ code: ExitCode; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runUserCli(argv, {
    env: { DATA_DIR: dataDir, AUTH: 'users' },
    cwd: temp.path,
    stdin: Readable.from([stdin]),
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
  });
  return { code, out, err };
}

describe('npm run user', () => {
  it('adds a user with the first line of stdin as password, and refuses the same name twice', async () => {
    const dataDir = freshDataDir();
    expect(await cli(dataDir, ['add', 'alice'], 'secret\nignored second line\n')).toEqual({
      code: 0,
      out: 'added user alice\n',
      err: '',
    });
    const again = await cli(dataDir, ['add', 'alice'], 'other\n');
    expect(again).toMatchObject({ code: 1, err: 'error: A user named "alice" already exists\n' });
    const store = createSqliteAuthStore({ file: join(dataDir, 'outpost.sqlite') });
    const stored = await store.findUser('alice');
    await store.close();
    // Hashed with scrypt, never kept in clear.
    expect(stored?.passwordHash).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$/);
    expect(stored?.passwordHash).not.toContain('secret');
  });

  it('refuses an empty password, a bad username and an unknown user with exit code 1', async () => {
    const dataDir = freshDataDir();
    expect(await cli(dataDir, ['add', 'alice'], '\n')).toMatchObject({
      code: 1,
      err: 'error: The password is empty\n',
    });
    expect(await cli(dataDir, ['add', 'alice'], '')).toMatchObject({ code: 1 });
    for (const name of ['Alice', '-alice', 'al ice', 'a'.repeat(65), 'émile']) {
      const refused = await cli(dataDir, ['add', name], 'secret\n');
      expect(refused.code, name).toBe(1);
      expect(refused.err).toMatch(/username is 1 to 64 of a-z 0-9/);
    }
    for (const command of ['remove', 'token', 'passwd']) {
      expect(await cli(dataDir, [command, 'nobody'], 'secret\n')).toMatchObject({
        code: 1,
        err: 'error: No user named "nobody"\n',
      });
    }
    expect((await cli(dataDir, ['list'])).out).toBe('no users\n');
  });

  it('lists users, prints a device token alone on stdout, changes a password, and removes a user', async () => {
    const dataDir = freshDataDir();
    await cli(dataDir, ['add', 'bob'], 'bob-secret\n');
    await cli(dataDir, ['add', 'alice.k'], 'alice-secret\r\n');
    const issued = await cli(dataDir, ['token', 'bob']);
    expect(issued.code).toBe(0);
    expect(issued.out).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(issued.err).toContain('shown once');

    const listed = (await cli(dataDir, ['list'])).out.split('\n');
    expect(listed[0]).toMatch(/^username\s+created\s+sessions\s+device tokens$/);
    expect(listed[1]).toMatch(/^alice\.k\s+\d{4}-\d{2}-\d{2}\s+0\s+0$/);
    expect(listed[2]).toMatch(/^bob\s+\d{4}-\d{2}-\d{2}\s+0\s+1$/);

    expect(await cli(dataDir, ['passwd', 'bob'], 'new-secret\n')).toMatchObject({ code: 0 });
    expect(await cli(dataDir, ['remove', 'bob'])).toMatchObject({ code: 0 });
    expect((await cli(dataDir, ['list'])).out).not.toContain('bob');
  });

  it('answers a wrong command or missing argument with the usage and exit code 2', async () => {
    const dataDir = freshDataDir();
    for (const argv of [[], ['add'], ['frobnicate'], ['list', 'extra'], ['add', 'a', 'b']]) {
      const answer = await cli(dataDir, argv);
      expect(answer.code, argv.join(' ')).toBe(2);
      expect(answer.err).toMatch(/^Usage: npm run user -- <command>/);
    }
    expect(await cli(dataDir, ['--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage/) });
  });

  it('reminds the operator that users matter only with AUTH=users', async () => {
    let err = '';
    await runUserCli(['add', 'alice'], {
      env: { DATA_DIR: freshDataDir() },
      cwd: temp.path,
      stdin: Readable.from(['secret\n']),
      out: () => undefined,
      err: (text) => {
        err += text;
      },
    });
    expect(err).toContain('AUTH=users');
  });

  it('gives a shell the same exit codes as a real process', async () => {
    const dataDir = freshDataDir();
    expect((await runUserCommand(dataDir, ['add', 'alice'], { stdin: 'secret\n' })).code).toBe(0);
    expect((await runUserCommand(dataDir, ['add', 'alice'], { stdin: 'secret\n' })).code).toBe(1);
    expect((await runUserCommand(dataDir, ['nonsense'])).code).toBe(2);
  }, 30_000);
});
