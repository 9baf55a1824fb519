import { expect } from 'vitest';

/**
 * What each engine really answered about keeping the data, next to what the app shows: the same check in
 * Chromium, Firefox and WebKit, whichever driver reads the page.
 */

export interface PersistenceShown {
  /** `navigator.storage.persisted()`; null where the engine has no persistence at all. */
  readonly persisted: boolean | null;
  /** The 'persistent-storage' permission; null where the engine cannot say. */
  readonly permission: string | null;
  /** Whether the app asked on this device (it remembers asking in localStorage). */
  readonly asked: boolean;
  /** The Outbox screen's card about keeping the data, white space collapsed; null when not on screen. */
  readonly card: string | null;
  /** The "Sync status" region's text. */
  readonly status: string;
}

/**
 * In-page and self-contained (serialised into the page; no helpers from outside). Reads only: it never asks
 * the browser to persist anything, which would be the test asking instead of the app.
 */
export async function readPersistenceShown(): Promise<PersistenceShown> {
  const storage = navigator.storage;
  const persisted = typeof storage?.persisted === 'function' ? await storage.persisted() : null;
  let permission: string | null = null;
  try {
    permission = (await navigator.permissions.query({ name: 'persistent-storage' })).state;
  } catch {
    permission = null;
  }
  const heading = Array.from(document.querySelectorAll('h2')).find(
    (element) => element.textContent === 'Keeping the data on this device',
  );
  const section = heading?.closest('section');
  // Each block's text, spaced: the card's textContent alone would run the paragraphs together.
  const card = section
    ? Array.from(section.children, (block) => block.textContent ?? '')
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim()
    : null;
  const status = document.querySelector('section[aria-label="Sync status"]')?.textContent ?? '';
  return {
    persisted,
    permission,
    asked: localStorage.getItem('outpost.persistenceAsked') !== null,
    card,
    status: status.replace(/\s+/g, ' ').trim(),
  };
}

/**
 * Reads until the app has its answer on screen (not checking or asking any more) and the status says it too:
 * the answer, the screen and the status each arrive in their own time.
 */
export async function settledPersistence(
  read: () => Promise<PersistenceShown>,
  /** Firefox asks the person, and its question waits for an answer nobody gives in a test. */
  { questionWaits = false } = {},
): Promise<PersistenceShown> {
  let shown = await read();
  const settled = (value: PersistenceShown) =>
    value.card !== null &&
    !value.card.includes('Checking whether') &&
    (questionWaits || !value.card.includes('Asking the browser')) &&
    value.status.includes('Data on this device');
  for (let waited = 0; !settled(shown) && waited < 10_000; waited += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    shown = await read();
  }
  return shown;
}

/** A phrase of the advice each engine's people get while the data may be cleared (storage-persistence-text.ts). */
const ADVICE: Readonly<Record<'Chromium' | 'Firefox' | 'WebKit', RegExp>> = {
  Chromium: /install Outpost/,
  // While its question waits, and after it was dismissed.
  Firefox: /Firefox asks you whether this site may store data in persistent storage|Allow when Firefox asks/,
  WebKit: /Add to Home Screen/,
};

/**
 * After orders were saved (`unsent` entries still waiting): the app asked, and the Outbox screen and the
 * status say what the engine answered. Prints the engine's answer for the note.
 */
export function expectPersistenceShown(
  engine: keyof typeof ADVICE,
  shown: PersistenceShown,
  unsent: number,
): void {
  console.log(
    `[persistence] ${engine}: persisted() ${shown.persisted}, permission ${shown.permission}, ` +
      `asked by the app ${shown.asked}; the Outbox screen says: ${shown.card}`,
  );
  expect(shown.asked, 'the app asked once an order was saved').toBe(true);
  expect(shown.card, 'the Outbox screen says whether the data is kept').not.toBeNull();
  if (shown.persisted) {
    expect(shown.card).toContain('Persistent: the browser keeps it');
    expect(shown.status).not.toContain('may be cleared');
  } else {
    expect(shown.card).toMatch(
      engine === 'Firefox'
        ? /May be cleared by the browser|Asking the browser to keep it/
        : /May be cleared by the browser/,
    );
    expect(shown.card).toMatch(ADVICE[engine]);
    expect(shown.status).toContain(`${unsent} unsent entries may be cleared by the browser`);
  }
}
