#!/usr/bin/env node
/**
 * `npm start`: builds the PWA when `dist/` is missing or older than its sources, then runs the reference
 * server (src/server/node/main.ts) in this same process through tsx, so SIGTERM/SIGINT reach it directly.
 *
 *   PORT, HOST, DATA_DIR, DIST_DIR, AUTH, TRUST_PROXY, CORS_ORIGIN, …   see docs/server.md
 *   --no-build (or SKIP_BUILD=1)                                         serve whatever dist/ holds
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildAppIfStale } from './build-if-stale.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

buildAppIfStale(root);

const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'src', 'server', 'node', 'main.ts')).href);
