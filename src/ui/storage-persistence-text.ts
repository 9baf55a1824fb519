import type { BrowserEngine, PersistenceState, StoragePersistence } from '../app/outpost';

/** What the person reads about keeping this device's data, and the button that asks the browser. */
export interface PersistenceText {
  /** Persistent, or may be cleared by the browser, in a few words. */
  readonly summary: string;
  /** What to do about it, in this browser's terms; null when nothing is to be done. */
  readonly advice: string | null;
  /** The label of the button that asks the browser; null when asking cannot change anything now. */
  readonly ask: string | null;
}

/** Every state in which the browser may delete what the device holds, unsent entries included. */
export function mayBeCleared(state: PersistenceState): boolean {
  return state !== 'checking' && state !== 'persistent';
}

const SAFARI =
  'Safari deletes the data of a site not used for 7 days, and may clear it when space runs low, unless the ' +
  'site is on the Home Screen or in the Dock: add Outpost to the Home Screen (iPhone, iPad: Share, Add to ' +
  'Home Screen) or to the Dock (Mac: File, Add to Dock) and open it from there.';

const CHROMIUM_INSTALL =
  'Chrome and Edge keep the data of installed apps and of sites used often: install Outpost (the install ' +
  'icon in the address bar, or Add to Home screen on Android)';

/** Each engine grants persistence its own way, so the advice names that way. */
function adviceFor(state: PersistenceState, engine: BrowserEngine): string | null {
  if (state === 'requesting') {
    // Firefox asks the person, and its question waits for them; the others answer by themselves at once.
    return engine === 'firefox'
      ? 'Firefox asks you whether this site may store data in persistent storage (next to the address bar): answer Allow.'
      : null;
  }
  if (!mayBeCleared(state)) return null;
  if (engine === 'webkit') return SAFARI;
  if (state === 'unsupported') {
    return 'This browser cannot be asked to keep it: send unsent entries while you can, and export them from the Outbox when they must wait.';
  }
  switch (engine) {
    case 'chromium':
      if (state === 'denied') {
        return 'The browser refuses it for this site: allow the site to store data on this device in its site settings (the icon left of the address), then ask again.';
      }
      return state === 'not-requested'
        ? `Outpost asks the browser when you save your first entry. ${CHROMIUM_INSTALL}.`
        : `${CHROMIUM_INSTALL}, then ask again.`;
    case 'firefox':
      if (state === 'denied') {
        return 'You refused persistent storage for this site: remove that choice under the padlock in the address bar (Permissions), then ask again and answer Allow.';
      }
      return state === 'not-requested'
        ? 'Outpost asks when you save your first entry: Firefox then asks you whether this site may store data in persistent storage. Answer Allow.'
        : 'Ask again, and answer Allow when Firefox asks whether this site may store data in persistent storage.';
    default:
      return state === 'not-requested'
        ? 'Outpost asks the browser when you save your first entry. Installing the app, or allowing this site to store data persistently in the browser’s site settings, keeps it.'
        : 'Install the app, or allow this site to store data persistently in the browser’s site settings, then ask again.';
  }
}

export function persistenceText({ state, engine }: StoragePersistence): PersistenceText {
  const advice = adviceFor(state, engine);
  switch (state) {
    case 'checking':
      return { summary: 'Checking whether the browser keeps it…', advice, ask: null };
    case 'persistent':
      return { summary: 'Persistent: the browser keeps it until you clear it', advice, ask: null };
    case 'requesting':
      return { summary: 'Asking the browser to keep it…', advice, ask: null };
    case 'unsupported':
      return {
        summary: 'May be cleared by the browser, which makes no promise to keep it',
        advice,
        ask: null,
      };
    case 'not-requested':
      return { summary: 'May be cleared by the browser', advice, ask: 'Ask the browser to keep it' };
    case 'not-granted':
    case 'denied':
      return { summary: 'May be cleared by the browser', advice, ask: 'Ask again' };
    default: {
      const unknownState: never = state;
      return unknownState;
    }
  }
}

/** "3 unsent entries may be cleared by the browser": said while they wait on such storage. */
export function unsentAtRiskText(waiting: number): string {
  return `${waiting} unsent ${waiting === 1 ? 'entry' : 'entries'} may be cleared by the browser`;
}
