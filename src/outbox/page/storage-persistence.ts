/**
 * Whether the browser promised to keep this origin's data, and asking it to. Without that promise the outbox
 * is "best effort" storage: the browser may evict it under storage pressure, and WebKit deletes the
 * script-writable storage of a site that is not installed after seven days without a visit. Entries in an
 * evicted outbox are lost as surely as by a bug, so the app asks at moments a person understands (the first
 * entry saved on this device, installing the app, or their own request) and says what the browser answered.
 *
 *   checking ──▶ unsupported                       (no `persist()`: nothing to ask for)
 *      │
 *      ├──▶ persistent                              (`persisted()`: kept until the person clears it)
 *      ├──▶ denied                                  (the 'persistent-storage' permission says no)
 *      └──▶ not-requested ──request──▶ requesting ──▶ persistent | not-granted | denied
 *                                    (Firefox may ask the person; Chromium and WebKit decide by themselves)
 */
export type PersistenceState =
  | 'checking'
  | 'unsupported'
  | 'persistent'
  | 'not-requested'
  | 'requesting'
  | 'not-granted'
  | 'denied';

/** Whose rules apply, for the words that tell a person what to do: each engine grants persistence its own way. */
export type BrowserEngine = 'chromium' | 'firefox' | 'webkit' | 'other';

/** One reading of the browser's answer, with the engine whose rules the words for `state` must follow. */
export interface StoragePersistence {
  readonly state: PersistenceState;
  readonly engine: BrowserEngine;
}

/** What the browser offers; `browserPersistence()` is the real one, tests give their own. */
export interface PersistencePort {
  readonly engine: BrowserEngine;
  /** `navigator.storage`'s `persisted` and `persist`; null where the browser has no persistence to ask for. */
  readonly storage: {
    /** Whether the browser already promised to keep the data; a rejection reads as "unsupported". */
    persisted(): Promise<boolean>;
    /** Asks for the promise; its answer and its rejection are ignored: `persisted()` afterwards decides. */
    persist(): Promise<boolean>;
  } | null;
  /** The 'persistent-storage' permission's state; null where the browser cannot say (WebKit throws). */
  permission(): Promise<PermissionState | null>;
  /** Whether the app runs installed (its own window, or Safari's Home Screen or Dock). */
  installed(): boolean;
  /** Calls `listener` each time the person installs the app. */
  onInstalled(listener: () => void): void;
  /** Whether this device asked before, across visits: the first saved entry asks once, not at every visit. */
  readonly memory: {
    /** Whether this device asked before; false where storage is blocked (the cost is one more question). */
    asked(): boolean;
    /** Records that it asked, before the answer comes; must not throw (blocked storage is no error here). */
    rememberAsked(): void;
  };
}

/** The two moments the app asks at; each waits its turn, so asking never overtakes the first reading. */
export interface PersistenceWatch {
  /** Asks the browser now (the person's button): Firefox may show them a question first. */
  request(): Promise<void>;
  /** An entry was saved: the first one on this device asks the browser to keep the data. */
  saved(): Promise<void>;
}

/**
 * Follows the browser's answer and asks at the moments above; `onChange` hears each new answer. A listener,
 * not an observable: this loads after the first render, and sharing rxjs with the first screen's code would
 * split rxjs out of it into a chunk of its own, which costs the first screen more than it saves.
 */
export function watchPersistence(
  port: PersistencePort = browserPersistence(),
  onChange: (value: StoragePersistence) => void,
): PersistenceWatch {
  let current: StoragePersistence = { state: 'checking', engine: port.engine };
  const emit = (state: PersistenceState) => {
    current = { state, engine: port.engine };
    onChange(current);
  };
  // One step at a time: a request never overtakes the first reading, and two requests never interleave.
  let queue: Promise<void> = Promise.resolve();
  const inTurn = (step: () => Promise<void>): Promise<void> => {
    queue = queue.then(step, step);
    return queue;
  };

  const read = async (): Promise<void> => {
    const storage = port.storage;
    if (!storage) return emit('unsupported');
    try {
      if (await storage.persisted()) return emit('persistent');
    } catch {
      // A browser that cannot say makes no promise either.
      return emit('unsupported');
    }
    if ((await port.permission().catch(() => null)) === 'denied') return emit('denied');
    emit(port.memory.asked() ? 'not-granted' : 'not-requested');
  };

  const ask = async (): Promise<void> => {
    const storage = port.storage;
    if (!storage) return emit('unsupported');
    emit('requesting');
    port.memory.rememberAsked();
    try {
      await storage.persist();
    } catch {
      // Refused by throwing (an insecure context, a policy): what `persisted()` says next is the answer.
    }
    await read();
  };

  const askUnlessKept = async (): Promise<void> => {
    const state = current.state;
    if (state !== 'persistent' && state !== 'denied' && state !== 'unsupported') await ask();
  };

  onChange(current);
  void inTurn(read);
  // An installed app is a moment a person understands, and Chromium and WebKit grant installed apps.
  if (port.installed()) void inTurn(askUnlessKept);
  // For the page's life, as the watch itself.
  port.onInstalled(() => void inTurn(askUnlessKept));

  return {
    request: () => inTurn(ask),
    saved: () =>
      inTurn(async () => {
        if (current.state === 'not-requested') await ask();
      }),
  };
}

/** Which engine a user agent string names; iOS browsers all run WebKit whatever their name. */
export function engineOf(userAgent: string): BrowserEngine {
  if (/\bFirefox\//.test(userAgent)) return 'firefox';
  // Not anchored: headless Chromium says "HeadlessChrome/"; iOS's Chrome and Edge ("CriOS", "EdgiOS") are WebKit.
  if (/(Chrome|Chromium|Edg)\//.test(userAgent)) return 'chromium';
  if (/\bAppleWebKit\//.test(userAgent)) return 'webkit';
  return 'other';
}

/** localStorage key remembering that this device asked; evicted storage forgets it, and the app asks again. */
export const PERSISTENCE_ASKED_SETTING = 'outpost.persistenceAsked';

/** The browser's own: `navigator.storage`, the Permissions API, the display mode and `appinstalled`. */
export function browserPersistence(): PersistencePort {
  const storage = typeof navigator.storage?.persist === 'function' ? navigator.storage : null;
  return {
    engine: engineOf(navigator.userAgent),
    storage: storage && {
      persisted: () => storage.persisted(),
      persist: () => storage.persist(),
    },
    async permission() {
      try {
        return (await navigator.permissions.query({ name: 'persistent-storage' })).state;
      } catch {
        return null;
      }
    },
    installed: () =>
      matchMedia('(display-mode: standalone)').matches ||
      (navigator as Navigator & { standalone?: boolean }).standalone === true,
    onInstalled(listener) {
      window.addEventListener('appinstalled', listener);
    },
    memory: {
      asked() {
        try {
          return localStorage.getItem(PERSISTENCE_ASKED_SETTING) !== null;
        } catch {
          return false;
        }
      },
      rememberAsked() {
        try {
          localStorage.setItem(PERSISTENCE_ASKED_SETTING, 'yes');
        } catch {
          // Storage blocked: the next visit asks again at its first saved entry, which costs nothing.
        }
      },
    },
  };
}
