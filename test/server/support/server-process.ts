import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Runs the REAL reference server (`node --import tsx src/server/node/main.ts`) as a child process on a free
 * port, the way `npm start` does minus the build, so tests speak to it over real HTTP.
 */

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'src/server/node/main.ts');
const USER_CLI = join(ROOT, 'scripts/user.mjs');

export interface ServerProcess {
  readonly port: number;
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** e.g. http://127.0.0.1:41234/api/sync */
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Every stdout line so far (JSON log lines). */
  readonly logs: string[];
  /** Resolves with the exit code and signal once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown, no flush, like a power cut for the process (not for the disk). */
  kill9(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir: string;
  /** AUTH; `none` (the server's default) unless given. */
  readonly auth?: 'none' | 'users';
  readonly distDir?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Start it as a person does, through `npm start` (no build: DIST_DIR is none unless given). */
  readonly viaNpm?: boolean;
}

const running = new Set<ChildProcess>();

/** A port nobody listens on right now: the OS picks it, we release it and hand it to the server. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port'))));
    });
  });
}

export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const [command, args] = options.viaNpm
    ? ['npm', ['start', '--silent']]
    : [process.execPath, ['--import', 'tsx', MAIN]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: options.dataDir,
      DIST_DIR: options.distDir ?? 'none',
      ...(options.auth ? { AUTH: options.auth } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: string[] = [];
  const errors: string[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    logs.push(...lines);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => errors.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    });
  });

  const origin = `http://127.0.0.1:${port}`;
  await waitForHealth(origin, exited, () => errors.join(''));
  return {
    port,
    origin,
    baseUrl: `${origin}/api/sync`,
    dataDir: options.dataDir,
    child,
    logs,
    exited,
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function waitForHealth(origin: string, exited: Promise<unknown>, stderr: () => string): Promise<void> {
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  // Polls instead of sleeping a fixed time: start-up cost (tsx transform) varies with machine load.
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (ended) throw new Error(`The server exited during start-up:\n${stderr()}`);
    try {
      const response = await fetch(`${origin}/api/sync/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 50));
  }
  throw new Error(`The server did not become healthy:\n${stderr()}`);
}

/** Kills whatever a test file left running; call from afterAll. */
export async function stopAllServers(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((done) => child.once('exit', done)),
    ),
  );
}

/** A temp folder for one test file, removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `outpost-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A stand-in for Vite's output: enough files to check what the server sends and how it may be cached. */
export function writeFakeDist(dir: string): void {
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Outpost</title><div id="root"></div>');
  writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("install", () => self.skipWaiting());');
  writeFileSync(join(dir, 'manifest.webmanifest'), '{"name":"Outpost"}');
  writeFileSync(join(dir, 'assets', 'index-3f2a1b9c.js'), 'console.log("app");');
}

/** Runs the server with `env` expecting it to refuse to start; resolves with its exit code and stderr. */
export function runServerExpectingExit(
  env: Readonly<Record<string, string>>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((done) => {
    child.once('exit', (code) => {
      running.delete(child);
      done({ code, stderr });
    });
  });
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the REAL user CLI on a data folder, as an operator does: `node scripts/user.mjs …`, or with `viaNpm`
 * exactly `npm run user -- …`. `stdin` is piped in (the password).
 */
export function runUserCommand(
  dataDir: string,
  args: readonly string[],
  options: { readonly stdin?: string; readonly viaNpm?: boolean; readonly env?: Record<string, string> } = {},
): Promise<CliRun> {
  const [command, commandArgs] = options.viaNpm
    ? ['npm', ['run', '--silent', 'user', '--', ...args]]
    : [process.execPath, [USER_CLI, ...args]];
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.end(options.stdin ?? '');
  return new Promise((done) => {
    child.once('exit', (code) => {
      running.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

/**
 * What an operator does before starting with AUTH=users for a machine client: adds a user and prints a
 * device token for it, through the real CLI. Resolves with the token.
 */
export async function provisionDeviceToken(
  dataDir: string,
  username = 'machine',
  env: Record<string, string> = {},
): Promise<string> {
  const added = await runUserCommand(dataDir, ['add', username], { stdin: 'machine-password\n', env });
  if (added.code !== 0) throw new Error(`user add failed: ${added.stderr}`);
  const issued = await runUserCommand(dataDir, ['token', username], { env });
  if (issued.code !== 0) throw new Error(`user token failed: ${issued.stderr}`);
  return issued.stdout.trim();
}
