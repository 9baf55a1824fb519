import { BehaviorSubject, filter, type Observable } from 'rxjs';
import type { CommandOutcome, CommandRequest } from '../device/commands/command-pipeline';
import type { CommandError } from '../device/commands/errors';
import { EventBus } from '../device/event-bus';
import { getOrCreateClientId } from '../device/sync/client-id';
import type { DeadLetterStorage } from '../device/sync/dead-letters';
import type { SignedIn } from '../device/sync/sign-in';
import { statusStorage } from '../device/sync/sync-facts';
import { type Clock, type IdGenerator, systemClock, uuidv7Generator } from '../ids';
import { ok, type Result } from '../result';
import type { ValidationError } from '../validation';
import type { SignInFailure } from './auth-client';
import { type OpenOutboxDbOptions, type OutpostDb, openOutboxDb, streamTypesOf } from './database';
import type { PageSyncPorts } from './page-sync';
import type { WorkerHandle } from './register-worker';
import type { RetentionControls } from './retention-controls';
import { browserOnline$, liveSyncFacts, liveSyncStatus, type SyncFacts, type SyncStatus } from './status';
import { type StorageInfo, watchStorage } from './storage-estimate';
import type { PersistencePort, StoragePersistence } from './storage-persistence';
import { detectSyncMode, type SyncMode } from './sync-mode';

/**
 * The outbox of one page, open: what a page's UI needs from it, built once per page by `openOutbox`.
 *
 * The first screen only reads, so opening loads only what reading needs: the stream types' code (schemas,
 * deciders), the write side (pipeline, projections) and the sync engine (HTTP client, wire schemas, claim and
 * apply) load next to the first render and are ready by the time the first command or flush needs them.
 */
export interface Outbox {
  /** The page's database: its live views read it (`liveStream`, `readDeliveryViews`, a stream type's lists). */
  readonly db: OutpostDb;
  /** Every event this page stored, once its transaction committed, and every server event a flush applied. */
  readonly bus: EventBus;
  /** This browser profile's clientId, kept in the database. */
  readonly clientId: string;
  readonly clock: Clock;
  /**
   * Validates, decides and writes a command durably, then asks for a sync. Resolves after the commit and
   * never rejects: a failure is a typed `CommandError` and means nothing of the command was written.
   */
  execute(request: CommandRequest): Promise<Result<CommandOutcome, CommandError>>;
  /** Sends what waits now, past any backoff ("Sync now"), and resolves when that flush ended. */
  syncNow(): Promise<void>;
  /** Where delivery stands, derived again whenever the stored facts, the network or the time change it. */
  readonly status$: Observable<SyncStatus>;
  /** Who answers the immediate wake-ups: the service worker's Background Sync, or the page itself. */
  readonly syncMode: SyncMode;
  /** The sync API's absolute base URL. */
  readonly endpoint: string;
  /** Usage against quota. */
  readonly storage$: Observable<StorageInfo | null>;
  /**
   * Whether the browser promised to keep this device's data (null until known). It is asked at the first entry
   * saved on this device, when the app is installed, and by `requestPersistence`.
   */
  readonly persistence$: Observable<StoragePersistence | null>;
  /** Asks the browser to keep this device's data (the person's button); the answer comes on `persistence$`. */
  requestPersistence(): Promise<void>;
  /** A dead entry and the dead ones after it in its stream go again; a refusal (not dead any more) throws. */
  retryDeadLetter(eventId: string): Promise<void>;
  /**
   * Gives up on a dead entry and every later undelivered one of its stream, for `reason` (1 to 200
   * characters); the stream then takes no more commands. A refusal (a bad reason, an entry in flight) throws.
   */
  discardDeadLetter(eventId: string, reason: string): Promise<void>;
  /** JSON of every stored event and outbox row: everything needed to recover unsent work by hand. */
  exportBackup(): Promise<Blob>;
  /** How long settled records stay on this device (off by default), and archiving what is due. */
  retention(): Promise<RetentionControls>;
  /**
   * Signs in on the sync server; the device then sends as that user (entries another user wrote wait for
   * them) and delivery resumes at once, in this page and in the worker. Never needed to execute commands.
   */
  signIn(username: string, password: string): Promise<Result<SignedIn, SignInFailure>>;
  /** Ends the session; nothing on the device is deleted. Refused (nothing changes) when the server cannot say so. */
  signOut(): Promise<Result<void, SignInFailure>>;
  /** The name other devices know this one by, and whether a person gave it (else it is made from the browser). */
  device(): Promise<{ readonly name: string; readonly given: boolean }>;
  /** Names this device (1 to 60 characters); the server hears it at the next sync. */
  renameDevice(name: string): Promise<Result<string, ValidationError>>;
  /** The person read that this device's database had vanished (`SyncStatus.vanished`). */
  dismissVanished(): Promise<void>;
}

/** The network as the browser reports it: `navigator.onLine` and its `online` and `offline` events. */
export interface NetworkPort {
  /** Whether the device has a network now. */
  isOnline(): boolean;
  /** The current state on subscribe, then each change. */
  readonly online$: Observable<boolean>;
}

/**
 * What a page's outbox is built from. Everything taken from the browser can be given instead (tests give
 * fakes); left out, each is the browser's own.
 */
export interface OpenOutboxOptions {
  /** The database, opened (`openOutboxDb`), or how to open it: its name, stream types and layout version. */
  readonly database: OutpostDb | OpenOutboxDbOptions;
  /** The sync API's absolute base URL (`https://example.com/api/sync`). */
  readonly endpoint: string;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** The registered service worker (`registerWorker`); without one the page itself sends (fallback mode). */
  readonly worker?: WorkerHandle | null;
  /** Forces a sync mode; by default detected (and `?sync=fallback` or the localStorage setting). */
  readonly syncMode?: SyncMode;
  /** The `fetch` the page's sync engine and sign-in use. */
  readonly transport?: typeof fetch;
  /** `navigator.onLine` and its events: the status shows it, and nothing is sent while it says offline. */
  readonly network?: NetworkPort;
  /** `navigator.storage`: the usage against quota the status shows. */
  readonly storage?: StorageManager;
  /** What the browser promises about keeping the data, and how to ask it (`browserPersistence()`). */
  readonly persistence?: PersistencePort;
  /**
   * Read the feed extension (docs/protocol.md, "The feed"): every device's events, a new device's history,
   * a live channel, and unsent commands decided again when another device changed the same stream first. A
   * server without it is read as protocol v1. Off by default; the service worker's `registerWorkerSync`
   * takes the same option.
   */
  readonly feed?: boolean;
  /**
   * What page sync takes from the browser (Web Locks, the channel to the other contexts, its wake-ups and
   * timers, whether a worker controls the page). Page sync loads after the first render, and so do these
   * defaults: naming one here does not bring the sync engine into the page's initial JavaScript.
   */
  readonly pageSync?: Partial<PageSyncPorts>;
}

const isOpen = (database: OpenOutboxOptions['database']): database is OutpostDb => 'transact' in database;

/** Opens the page's outbox: its database, its clientId, its status; the rest loads next to the first render. */
export async function openOutbox(options: OpenOutboxOptions): Promise<Outbox> {
  const db = isOpen(options.database) ? options.database : openOutboxDb(options.database);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidv7Generator(clock);
  const clientId = await getOrCreateClientId(db, ids);
  const bus = new EventBus();
  const { endpoint } = options;
  const worker = options.worker ?? null;
  const syncMode = options.syncMode ?? (worker ? detectSyncMode() : 'fallback');
  const storage = watchStorage(options.storage ?? navigator.storage);
  const network = options.network ?? { isOnline: () => navigator.onLine, online$: browserOnline$() };
  const transport =
    options.transport ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const ready = () => streamTypesOf(db);
  // Not in the first screen's JavaScript: it loads next to the first render, and asks at the first save.
  const persistence$ = new BehaviorSubject<StoragePersistence | null>(null);
  const persistence = loadOnce(() =>
    import('./storage-persistence').then(({ watchPersistence }) =>
      watchPersistence(options.persistence, (value) => persistence$.next(value)),
    ),
  );
  void persistence().catch(() => undefined);

  const pipeline = loadOnce(async () => {
    const [{ createPageCommandPipeline }] = await Promise.all([import('./page-commands'), ready()]);
    return createPageCommandPipeline({ db, clock, ids, clientId, bus });
  });
  void pipeline().catch(() => undefined);
  // One read of the stored sync facts, for the page's life, feeds the status and the schedule's timer, so
  // both always agree and a change is read once.
  const facts = new BehaviorSubject<SyncFacts | null>(null);
  const followFacts = () =>
    liveSyncFacts(db, statusStorage(db)).subscribe({
      next: (value) => facts.next(value),
      // A failed read ends a live query (the database closed under an upgrade, say): keep the last facts and
      // start reading again, or the status and the schedule would stop following the outbox for good.
      error: (error: unknown) => {
        console.warn('[outpost] sync status read failed; reading again', error);
        setTimeout(followFacts, 1_000);
      },
    });
  followFacts();
  const facts$ = facts.pipe(filter((value): value is SyncFacts => value !== null));
  const sync = loadOnce(() =>
    Promise.all([import('./page-sync'), ready()]).then(([{ startPageSync }, streamTypes]) =>
      startPageSync({
        db,
        streamTypes,
        clock,
        ids,
        clientId,
        bus,
        endpoint,
        transport,
        mode: syncMode,
        worker,
        isOnline: () => network.isOnline(),
        ports: options.pageSync ?? {},
        facts$,
        // Delivered rows free space and pulled events take some: the storage estimate follows each flush.
        onFlushed: () => void storage.refresh(),
        feed: options.feed === true,
        userAgent: typeof navigator === 'undefined' ? '' : navigator.userAgent,
      }),
    ),
  );
  // Started now, next to the first render: entries an earlier visit left go out without a new command.
  const requestSync = () =>
    void sync()
      .then((driver) => driver.requestSync())
      .catch((error: unknown) => console.warn('[outpost] sync unavailable', error));
  void sync().catch((error: unknown) => console.warn('[outpost] sync unavailable', error));

  const deadLetters = loadOnce(() =>
    Promise.all([import('../device/sync/dead-letters'), ready()]).then(
      ([module]): DeadLetterModule => ({ ...module, storage: module.deadLetterStorage(db) }),
    ),
  );
  const session = loadOnce(() =>
    Promise.all([import('./session'), import('../device/sync/sign-in')]).then(
      ([{ createSession }, { accountStorage }]) =>
        createSession({
          storage: accountStorage(db),
          transport,
          endpoint,
          clientId,
          ids,
          now: () => clock.now(),
          locks: options.pageSync?.locks === undefined ? (navigator.locks ?? null) : options.pageSync.locks,
        }),
    ),
  );
  const resumeSync = () =>
    void sync()
      .then((driver) => driver.resume('sign-in'))
      .catch((error: unknown) => console.warn('[outpost] sync unavailable', error));
  // Nobody is signed in on the device, yet the browser may hold a session every push goes under: its
  // database vanished while its cookies stayed (the server named the user), or someone signed in here
  // before. The device asks the server whom the session names, once per start (docs/sync.md, "Devices").
  let first = true;
  const asking = facts$.subscribe(({ account, vanished }) => {
    const ask =
      account.user === null &&
      (vanished?.user != null || (first && Object.keys(account.clientIds).length > 0));
    first = false;
    if (account.user === null && !ask) return;
    // Never during `subscribe`: the first facts come from a database read, after it returned.
    asking.unsubscribe();
    if (!ask) return;
    void session()
      .then((opened) => opened.resume())
      .then((resumed) => resumed.ok && resumed.value && resumeSync())
      .catch((error: unknown) => console.warn('[outpost] session unknown', error));
  });

  return {
    db,
    bus,
    clientId,
    clock,
    syncMode,
    endpoint,
    status$: liveSyncStatus(facts$, clock, network.online$),
    storage$: storage.storage$,
    persistence$,
    requestPersistence: () => persistence().then((watch) => watch.request()),
    async execute(request) {
      const result = await (await pipeline()).execute(request);
      if (result.ok && !result.value.duplicate) {
        requestSync();
        void storage.refresh();
        void persistence()
          .then((watch) => watch.saved())
          .catch(() => undefined);
      }
      return result;
    },
    async syncNow() {
      await (await sync()).syncNow();
    },
    // A refusal (not dead any more, in flight, an empty reason) is thrown so the dialog shows it.
    async retryDeadLetter(eventId) {
      const retried = await (await deadLetters()).storage.retryDeadLetter(eventId);
      if (!retried.ok) throw retried.error;
      requestSync();
    },
    async discardDeadLetter(eventId, reason) {
      const { storage: port, checkDiscard } = await deadLetters();
      const order = checkDiscard({ eventId, reason, clock, ids });
      if (!order.ok) throw order.error;
      const discarded = await port.discardDeadLetter(order.value);
      if (!discarded.ok) throw discarded.error;
      bus.publish(discarded.value.records);
    },
    // The export is not the first screen's: its code loads when the person asks for it.
    exportBackup: () => import('./backup').then((backup) => backup.exportBackup(db, clock, clientId)),
    retention: loadOnce(() =>
      Promise.all([import('./retention-controls'), import('../device/read-models/retention')]).then(
        ([{ createRetentionControls }, { retentionStorage }]) =>
          createRetentionControls(retentionStorage(db), clock, ready),
      ),
    ),
    async signIn(username, password) {
      const signedIn = await (await session()).signIn(username, password);
      // The sign-in pause ended in the same transaction: whoever runs the schedule sees it; this sends now,
      // past any backoff the entries ran up while they waited.
      if (signedIn.ok) resumeSync();
      return signedIn;
    },
    async signOut() {
      return (await session()).signOut();
    },
    async device() {
      const { readDevice, defaultDeviceName } = await import('../device/sync/device-record');
      const record = await readDevice(db);
      return record.name === null
        ? { name: defaultDeviceName(navigator.userAgent, clientId), given: false }
        : { name: record.name, given: true };
    },
    async renameDevice(name) {
      const { renameDevice } = await import('../device/sync/device-record');
      const renamed = await renameDevice(db, name);
      // The server hears it when the feed is next read: now, if the network allows.
      if (renamed.ok) {
        void sync()
          .then((driver) => driver.syncNow())
          .catch((error: unknown) => console.warn('[outpost] sync unavailable', error));
      }
      return renamed.ok ? ok(renamed.value) : renamed;
    },
    async dismissVanished() {
      const { dismissVanished } = await import('../device/sync/device-record');
      await dismissVanished(db);
    },
  };
}

type DeadLetterModule = typeof import('../device/sync/dead-letters') & {
  readonly storage: DeadLetterStorage;
};

/**
 * Runs `load` on first call and shares its promise; a rejected load (a chunk that failed to download) is
 * forgotten so the next call tries again instead of failing for the rest of the page's life.
 */
function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = null;
      throw error;
    });
    return pending;
  };
}
