import { vi } from 'vitest';
import type { BrowserEngine, PersistencePort } from '../../src/outbox/page/storage-persistence';

/**
 * A browser's answers about keeping the data, as each engine gives them: persisted or not, what `persist()`
 * answers (granted, refused, or a question the person has not answered yet), the permission, installation.
 */
export interface FakeBrowserAnswers {
  readonly engine?: BrowserEngine;
  /** False: no `navigator.storage.persist` at all (older Safari, a WebView). */
  readonly supported?: boolean;
  readonly persisted?: boolean;
  /** What `persist()` answers; 'pending' keeps it unanswered until `answer()`. */
  readonly grants?: boolean | 'pending';
  readonly permission?: PermissionState | null;
  readonly installed?: boolean;
  readonly askedBefore?: boolean;
}

export interface FakePersistence extends PersistencePort {
  readonly persist: ReturnType<typeof vi.fn<() => Promise<boolean>>>;
  /** Answers a pending `persist()`, as the person does in Firefox's question. */
  answer(granted: boolean, permission?: PermissionState): void;
  /** The browser's `appinstalled` event. */
  install(): void;
}

export function fakePersistence(answers: FakeBrowserAnswers = {}): FakePersistence {
  let persisted = answers.persisted ?? false;
  let permission = answers.permission ?? null;
  let asked = answers.askedBefore ?? false;
  const installedListeners = new Set<() => void>();
  let pending: ((granted: boolean) => void) | null = null;
  const grant = (granted: boolean) => {
    persisted ||= granted;
    if (granted && permission !== null) permission = 'granted';
    return persisted;
  };
  const persist = vi.fn(async () => {
    if (answers.grants === 'pending') {
      return new Promise<boolean>((resolve) => {
        pending = (granted) => resolve(grant(granted));
      });
    }
    return grant(answers.grants ?? false);
  });
  return {
    engine: answers.engine ?? 'chromium',
    storage: answers.supported === false ? null : { persisted: async () => persisted, persist },
    persist,
    permission: async () => permission,
    installed: () => answers.installed ?? false,
    onInstalled(listener) {
      installedListeners.add(listener);
    },
    memory: {
      asked: () => asked,
      rememberAsked: () => {
        asked = true;
      },
    },
    answer(granted, newPermission) {
      if (newPermission) permission = newPermission;
      pending?.(granted);
      pending = null;
    },
    install() {
      for (const listener of installedListeners) listener();
    },
  };
}
