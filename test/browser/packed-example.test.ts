import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, launchChromium } from './support/browser';
import { type StaticServer, serveStatic } from './support/static-server';

/**
 * The outbox as another developer gets it: `npm run build:lib`, `npm pack`, the tarball installed into a
 * project outside this repository (from the npm cache and registry, like any package), the guest book example
 * (examples/guestbook) type-checked against the package's declarations and built, then run in Chromium
 * against the package's mock. Offline, three entries; back online, nobody touching the app: each delivered
 * to the server exactly once.
 */

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = mkdtempSync(join(tmpdir(), 'outpost-example-'));
let server: StaticServer | null = null;
let browser: Browser | null = null;
let context: BrowserContext | null = null;

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_fund: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

beforeAll(async () => {
  run(process.execPath, [join(repo, 'node_modules/tsx/dist/cli.mjs'), 'scripts/build-lib.ts'], repo);
  const packed = JSON.parse(
    run('npm', ['pack', join(repo, 'dist-lib'), '--json', '--pack-destination', scratch], scratch),
  ) as {
    filename: string;
  }[];
  const tarball = join(scratch, packed[0]?.filename ?? '');
  const app = join(scratch, 'guestbook');
  cpSync(join(repo, 'examples/guestbook'), app, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  manifest.dependencies['@outpost/outbox'] = `file:${tarball}`;
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  // The peers at the versions the package names; from the npm cache when it has them.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--ignore-scripts', '--loglevel=error'], app);
  run(
    process.execPath,
    [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(app, 'tsconfig.json')],
    app,
  );
  await build({
    configFile: false,
    root: app,
    logLevel: 'error',
    build: { outDir: join(app, 'dist'), emptyOutDir: true, target: 'es2022' },
  });
  server = await serveStatic(join(app, 'dist'));
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

interface Stats {
  readonly eventsStored: number;
  readonly duplicatesAnswered: number;
  readonly serverEvents: number;
}

describe('the packed package in an example app of its own', () => {
  it('keeps entries signed offline and delivers each exactly once when the network returns, untouched', async () => {
    if (!browser || !server) throw new Error('the example was not built');
    context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(server.url);
    await page.getByRole('status').filter({ hasText: 'idle' }).waitFor();

    await context.setOffline(true);
    for (const [name, message] of [
      ['Ada', 'Lovely place'],
      ['Grace', 'Back next year'],
      ['Linus', 'Fast service'],
    ] as const) {
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Message').fill(message);
      await page.getByRole('button', { name: 'Sign' }).click();
      await page.getByText(`${name}: ${message} (local)`).waitFor();
    }
    await page.getByRole('status').filter({ hasText: 'offline: 3 waiting' }).waitFor();
    const stats = () =>
      page.evaluate(async () => {
        const { mock } = window as unknown as {
          mock: { storage: { read<T>(work: (r: never) => T): Promise<T> } };
        };
        return mock.storage.read((reader: { stats(): Stats }) => reader.stats());
      });
    expect((await stats()).eventsStored).toBe(0);

    // Back online, and nothing else: no click, no reload.
    await context.setOffline(false);
    const delivered = await eventually(
      stats,
      (value) => value.eventsStored === 3 && value.serverEvents === 3,
    );
    expect(delivered).toMatchObject({ eventsStored: 3, duplicatesAnswered: 0, serverEvents: 3 });
    await page.getByRole('status').filter({ hasText: 'idle: 0 waiting' }).waitFor();
    await eventually(
      () => page.locator('#entries li').allTextContents(),
      (items) => items.length === 3 && items.every((item) => item.endsWith('(published)')),
    );
    expect(errors).toEqual([]);
  });
});
