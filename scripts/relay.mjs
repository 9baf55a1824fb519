#!/usr/bin/env node
/**
 * `npm run relay`: runs src/server/node/relay-main.ts through tsx, as scripts/start.mjs runs the server, in this
 * same process so SIGTERM/SIGINT reach it directly (docs/server-outbox.md).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'src', 'server', 'node', 'relay-main.ts')).href);
