#!/usr/bin/env node
/**
 * `npm run user -- add|passwd|remove|list|token …`: manages the users of AUTH=users (docs/server.md) in the
 * database `npm start` uses. Runs src/server/node/user-cli.ts through tsx, as scripts/start.mjs runs the
 * server, so it works right after `npm ci` with no build step.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { register } = await import('tsx/esm/api');
register();
const { main } = await import(pathToFileURL(join(root, 'src', 'server', 'node', 'user-cli.ts')).href);
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
