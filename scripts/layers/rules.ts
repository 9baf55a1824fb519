/**
 * What may import what, as allow-lists: every source file belongs to the first layer whose `files` match it,
 * and may import only what that layer's `mayImport` names. `npm run check` holds the repository to these
 * (scripts/check-layers.ts) and renders the table of docs/architecture.md from them.
 *
 * Patterns: `*` is one path segment (or part of one), `**` any number of them. In `mayImport`, a pattern
 * starting with a folder of the repository names files; `{own}` is the folder the layer's first `*` matched
 * (a plug-in's own folder); `!` before a pattern takes it back out of what the patterns before it allow;
 * anything else names a package (`dexie`, `node:*`), and `npm:*` is any package package.json declares.
 */
export interface Layer {
  readonly name: string;
  /** Which files belong to it (the first layer that matches a file wins). */
  readonly files: readonly string[];
  /** Where its code runs and what it does, for the table. */
  readonly job: string;
  /** The only things its files may import. */
  readonly mayImport: readonly string[];
}

/** The core's files that run everywhere: defining stream types, ids, results, validation. */
const EVERYWHERE = 'src/outbox/*.ts';
const PROTOCOL = 'src/outbox/protocol/**';
/** The storage port a device operation is written over, and the rows it reads and writes. */
const STORAGE_PORT = ['src/outbox/storage/outbox-database.ts', 'src/outbox/storage/rows.ts'];
const DEFINE_ENTRY = 'src/outbox/index.ts';
const PAGE_ENTRY = 'src/outbox/page/index.ts';
/** One stream, live: apart so a first screen that only lists never loads it. */
const STREAM_ENTRY = 'src/outbox/page/stream/index.ts';
const WORKER_ENTRY = 'src/outbox/worker/index.ts';
const MOCK_ENTRY = 'src/outbox/mock/index.ts';
const SERVER_ENTRY = 'src/outbox/server/index.ts';
/** The package's entries, as another app imports them (examples/). */
const PACKAGE = '@outpost/outbox';

/** The app's UI kit: everything of src/ui but the app's own screen list and shell. */
const UI_KIT = ['src/ui/**', '!src/ui/stream-screens.ts', '!src/ui/app.tsx'];

export const LAYERS: readonly Layer[] = [
  {
    name: 'Core: everywhere',
    files: [EVERYWHERE],
    job: 'The entry for defining stream types (`index.ts`): the stream type contract and its registry, ids and the clock, results, field schemas and validation; runs in a page, the worker and a server',
    mayImport: [EVERYWHERE, PROTOCOL, 'src/outbox/storage/rows.ts', 'valibot'],
  },
  {
    name: 'Core: protocol',
    files: [PROTOCOL],
    job: 'The wire: one valibot schema per message of sync protocol v1 and its auth routes, on both sides',
    mayImport: [EVERYWHERE, PROTOCOL, 'valibot'],
  },
  {
    name: 'Core: Dexie adapter',
    files: ['src/outbox/storage/dexie-*.ts'],
    job: "The storage port's records on Dexie (pages)",
    mayImport: [...STORAGE_PORT, 'dexie'],
  },
  {
    name: 'Core: storage',
    files: ['src/outbox/storage/**'],
    job: "The storage port (`OutboxDatabase`: one transaction over the outbox's records), the row types, the plain IndexedDB adapter (the worker) and its change notice; no Dexie",
    mayImport: [EVERYWHERE, PROTOCOL, 'src/outbox/storage/**', '!src/outbox/storage/dexie-*.ts'],
  },
  {
    name: 'Core: device',
    files: ['src/outbox/device/**'],
    job: 'A page or the service worker, over the storage port: the command pipeline, projections, rebuild and retention, the sync engine, its schedule, retry policy and failure classification, dead letters and sign-in as operations; no Dexie, no DOM',
    mayImport: [EVERYWHERE, PROTOCOL, ...STORAGE_PORT, 'src/outbox/device/**', 'valibot', 'rxjs'],
  },
  {
    name: 'Core: page',
    files: ['src/outbox/page/**'],
    job: 'A page only: `openOutbox`, the Dexie database, live views and reads, the status, the sync driver and page sync, sign-in, retention controls, registering the worker',
    mayImport: [
      EVERYWHERE,
      PROTOCOL,
      'src/outbox/storage/**',
      'src/outbox/device/**',
      'src/outbox/page/**',
      'dexie',
      'rxjs',
      'valibot',
    ],
  },
  {
    name: 'Core: worker',
    files: ['src/outbox/worker/**'],
    job: 'The service worker only: its sync on plain IndexedDB, wired to its events and messages',
    mayImport: [
      EVERYWHERE,
      PROTOCOL,
      'src/outbox/storage/**',
      '!src/outbox/storage/dexie-*.ts',
      'src/outbox/device/**',
      'src/outbox/worker/**',
      'valibot',
    ],
  },
  {
    name: 'Core: server outbox relay',
    files: ['src/outbox/server/relay/**'],
    job: "A server only: the server outbox's rows and subjects, the relay loop over its store and publisher ports, back-off; names no stream type and no broker",
    mayImport: [EVERYWHERE, PROTOCOL, 'src/outbox/server/relay/**', 'src/outbox/server/storage.ts'],
  },
  {
    name: 'Core: server outbox consumers',
    files: ['src/outbox/server/consumers/**'],
    job: "A consumer service's process: the runtime (inbox, batches, retries, parking) over its delivery and store ports, the notification and analytics services, the reaction registry, the analytics summary",
    mayImport: [
      EVERYWHERE,
      PROTOCOL,
      'src/outbox/server/consumers/**',
      'src/outbox/server/relay/outbox-rows.ts',
      'src/outbox/server/relay/backoff.ts',
      'src/outbox/server/relay/log.ts',
      'valibot',
    ],
  },
  {
    name: 'Core: server',
    files: ['src/outbox/server/**'],
    job: "A server only: the protocol's `Request → Response` handler over its storage interface, sign-in, the in-memory storage",
    mayImport: [EVERYWHERE, PROTOCOL, 'src/outbox/server/**', 'valibot'],
  },
  {
    name: 'Core: mock',
    files: ['src/outbox/mock/**'],
    job: 'Wherever `fetch` runs (Node tests, a page, a worker): the server core on memory storage behind fault switches, as msw handlers or a `fetch`',
    mayImport: [EVERYWHERE, SERVER_ENTRY, 'src/outbox/mock/**', 'msw', 'rxjs', 'valibot'],
  },
  {
    name: 'App lists',
    files: ['src/plugins.ts', 'src/plugin-layouts.ts', 'src/server-plugins.ts'],
    job: "The app's stream types: their code, their layouts (for the page's first screen), their server policies and their reactions (the server outbox's services)",
    mayImport: [
      DEFINE_ENTRY,
      'src/*/stream-type.ts',
      'src/*/layout.ts',
      'src/*/server/stream-type.ts',
      'src/*/server/reactions.ts',
      'src/plugins.ts',
    ],
  },
  {
    name: 'Page root',
    files: ['src/main.tsx', 'src/app/**'],
    job: "`createOutpost`: the outbox opened at the app's database layout and endpoint, its worker, its demo controls; mounts the UI",
    mayImport: [
      'src/app/**',
      'src/ui/app.tsx',
      // The screen of a rebuild an upgrade owes: shown before the app can open.
      'src/ui/components/rebuild-progress.tsx',
      DEFINE_ENTRY,
      PAGE_ENTRY,
      MOCK_ENTRY,
      'src/plugin-layouts.ts',
      'dexie',
      'react',
      'react-dom',
      'rxjs',
    ],
  },
  {
    name: 'Worker root',
    files: ['src/sw/*.ts'],
    job: "The service worker: the precache and navigations, and the outbox's worker sync",
    mayImport: [
      WORKER_ENTRY,
      DEFINE_ENTRY,
      'src/sw/backend/**',
      'src/app/build-flags.ts',
      'src/app/schema-version.ts',
      'src/plugins.ts',
      'src/sw/precache.ts',
    ],
  },
  {
    name: 'Worker backends',
    files: ['src/sw/backend/**'],
    job: 'What answers the sync API inside the worker: nothing in production, the mock in the demo build',
    mayImport: [
      'src/sw/backend/**',
      DEFINE_ENTRY,
      WORKER_ENTRY,
      MOCK_ENTRY,
      SERVER_ENTRY,
      'src/server-plugins.ts',
      'dexie',
      'msw',
      'valibot',
    ],
  },
  {
    name: 'Reference server',
    files: ['src/server/**'],
    job: 'The Node server on SQLite or PostgreSQL with sign-in; the relay to NATS JetStream and the consumer services (`npm run relay`, `npm run service`); `npm run start:cluster`',
    mayImport: [
      'src/server/**',
      EVERYWHERE,
      PROTOCOL,
      SERVER_ENTRY,
      'src/server-plugins.ts',
      'node:*',
      'hono',
      '@hono/node-server',
      'better-sqlite3',
      'pg',
      '@nats-io/transport-node',
      '@nats-io/jetstream',
      'valibot',
    ],
  },
  {
    name: 'UI list',
    files: ['src/ui/stream-screens.ts'],
    job: "The app's screens of each stream type: one entry per plug-in (its `page/index.ts`)",
    mayImport: ['src/*/page/index.tsx', 'src/ui/stream-ui.ts'],
  },
  {
    name: 'Catalog',
    files: ['src/catalog/**'],
    job: "The products and locations shipped with the app, checked with the order's field schemas",
    mayImport: ['src/catalog/**', 'src/orders/domain/fields.ts', 'valibot'],
  },
  {
    name: 'UI',
    files: ['src/ui/**', 'src/subscribers/**'],
    job: "The app's shell, its UI kit and its own screens (outbox, sign-in), notifications, the shipped catalog; names no stream type",
    mayImport: [
      'src/ui/**',
      'src/subscribers/**',
      'src/catalog/**',
      'src/app/outpost.ts',
      'src/app/build-flags.ts',
      DEFINE_ENTRY,
      PAGE_ENTRY,
      MOCK_ENTRY,
      'react',
      'react-dom',
      'rxjs',
      'valibot',
    ],
  },
  {
    name: 'Plug-in: page',
    files: ['src/*/page/**'],
    job: "A stream type's page side: its lists and live views over the page entry, its screens over the app's UI kit, and its entry in the app's screen list (`index.ts`)",
    mayImport: [
      '{own}/**',
      '!{own}/server/**',
      DEFINE_ENTRY,
      PAGE_ENTRY,
      STREAM_ENTRY,
      ...UI_KIT,
      'src/catalog/**',
      'react',
      'rxjs',
      'valibot',
      'dexie-react-hooks',
    ],
  },
  {
    name: 'Plug-in: server',
    files: ['src/*/server/**'],
    job: "A stream type's rules on the server, the decisions it appends, and its reactions (notifications, analytics facts)",
    mayImport: ['{own}/**', '!{own}/page/**', DEFINE_ENTRY, 'valibot'],
  },
  {
    name: 'Plug-in',
    files: ['src/*/**'],
    job: 'One stream type (any folder of src/ not named above): commands, events, the pure decider and `evolve`, read models, its layout; runs everywhere',
    mayImport: ['{own}/**', '!{own}/page/**', '!{own}/server/**', DEFINE_ENTRY, 'valibot'],
  },
  {
    name: 'Core tests',
    files: ['test/core/**'],
    job: "The core's own suite, on test-only stream types",
    mayImport: ['src/outbox/**', 'test/core/**', 'npm:*', 'node:*'],
  },
  {
    name: 'Tests',
    files: ['test/**'],
    job: 'Unit, component, server and browser tests',
    mayImport: ['src/**', 'test/**', 'scripts/**', 'examples/**', 'index.html', 'npm:*', 'node:*'],
  },
  {
    name: 'Benchmarks',
    files: ['bench/**'],
    job: 'The benchmarks and the code they drive in Chromium',
    mayImport: ['src/**', 'bench/**', 'npm:*', 'node:*'],
  },
  {
    name: 'Examples',
    files: ['examples/**'],
    job: 'Apps built on the package as another developer would: its published entries only',
    mayImport: ['examples/**', PACKAGE, 'dexie', 'rxjs', 'valibot', 'msw'],
  },
  {
    name: 'Tooling',
    files: ['scripts/**', 'vite.config.ts', 'vitest.config.ts'],
    job: 'Scripts (start, users, the layer check, the package build) and build configuration',
    mayImport: ['scripts/**', 'src/**', 'npm:*', 'node:*'],
  },
];
