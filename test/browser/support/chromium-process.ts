import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './browser';

/**
 * A Chromium we start ourselves, so we can kill it like a crash or a power cut: `kill -9` to its whole process
 * group (browser, renderers, GPU and utility processes), no shutdown, no flush of anything it held in memory.
 * Playwright's own `launch` cannot do that (its `close` is orderly), so the process is spawned here on an
 * on-disk profile and Playwright attaches over CDP. Starting again on the same profile is the "next morning".
 */

export interface ChromiumProcess {
  readonly pid: number;
  readonly browser: Browser;
  /** The profile's own context (not an incognito one): its IndexedDB, caches and worker are on disk. */
  readonly context: BrowserContext;
  /** SIGKILL to the process group; resolves once no process of the group is left. */
  kill9(): Promise<void>;
}

const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DEVTOOLS_LINE = /DevTools listening on (ws:\/\/\S+)/;
const started = new Set<number>();

/** Pids whose process group is `pgid`, from /proc (Linux): the group leader may be gone while children live. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces, inside parentheses): state ppid pgrp …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

async function killGroup(pgid: number): Promise<void> {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
  for (let waited = 0; groupMembers(pgid).length > 0; waited += 50) {
    if (waited > 10_000)
      throw new Error(`processes of group ${pgid} survived SIGKILL: ${groupMembers(pgid)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  started.delete(pgid);
}

function devtoolsEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(
      () => fail(new Error(`Chromium printed no DevTools URL in 30 s:\n${stderr}`)),
      30_000,
    );
    const onData = (chunk: string) => {
      stderr += chunk;
      const match = DEVTOOLS_LINE.exec(stderr);
      if (match?.[1]) {
        done();
        resolve(match[1]);
      }
    };
    const onExit = (code: number | null) =>
      fail(new Error(`Chromium exited (${code}) during start-up:\n${stderr}`));
    const done = () => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining stderr so a chatty browser never blocks on a full pipe.
      child.stderr?.resume();
    };
    const fail = (error: Error) => {
      done();
      reject(error);
    };
    child.stderr?.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
  });
}

/** Starts headless Chromium on `profileDir` (created if missing) and attaches Playwright to it over CDP. */
export async function spawnChromium(profileDir: string): Promise<ChromiumProcess> {
  const child = spawn(
    EXECUTABLE,
    [
      ...CHROMIUM_ARGS,
      '--headless',
      `--user-data-dir=${profileDir}`,
      '--remote-debugging-port=0',
      '--no-default-browser-check',
      'about:blank',
    ],
    // Its own process group, so one signal reaches every process it forks.
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${EXECUTABLE}`);
  started.add(pid);
  try {
    const endpoint = await devtoolsEndpoint(child);
    const browser = await chromium.connectOverCDP(endpoint);
    const context = browser.contexts()[0];
    if (!context) throw new Error('the browser has no default context');
    return { pid, browser, context, kill9: () => killGroup(pid) };
  } catch (error) {
    await killGroup(pid);
    throw error;
  }
}

/** For afterAll: kills every browser this module started that is still running, whatever the test did. */
export async function killAllChromium(): Promise<void> {
  for (const pgid of [...started]) await killGroup(pgid);
}
