/**
 * What the status reads of the feed's bookkeeping in `meta`, with checks light enough for the first screen
 * (no schema library): a new device's history as it loads, a vanished database's notice, what is kept unread,
 * and who wrote with each clientId. The writers keep the same keys (`feed-state.ts`, `device-record.ts`).
 */

/** How far a new device's history has come: streams read of how many (`catch-up.ts`). */
export const CATCH_UP_KEY = 'catchUp';
export interface CatchUp {
  readonly loaded: number;
  readonly total: number | null;
  readonly done: boolean;
}

/** What the server knew of this browser before its database vanished (`device-record.ts`). */
export const VANISHED_KEY = 'vanished';
export interface Vanished {
  /** The clientId the browser used then, and its device's name and user as the server knew them. */
  readonly clientId: string;
  readonly device: string | null;
  readonly user: string | null;
  /** When this device heard it (epoch ms, this device's clock). */
  readonly noticedAt: number;
}

/** How many events this device keeps unread: a newer app wrote them (`StoredUnreadEvent`). */
export const UNREAD_KEY = 'unreadEvents';

/** Who wrote with each clientId the feed named: its user and its device's name (`feed-store.ts`). */
export const AUTHORS_KEY = 'authors';
export type Authors = Readonly<
  Record<string, { readonly user: string | null; readonly device: string | null }>
>;

const count = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const text = (value: unknown): value is string | null => value === null || typeof value === 'string';
const record = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function parseCatchUp(value: unknown): CatchUp | null {
  if (!record(value) || !count(value.loaded) || typeof value.done !== 'boolean') return null;
  if (value.total !== null && !count(value.total)) return null;
  return { loaded: value.loaded, total: value.total, done: value.done };
}

export function readVanished(value: unknown): Vanished | null {
  if (!record(value) || typeof value.clientId !== 'string' || typeof value.noticedAt !== 'number')
    return null;
  if (!text(value.device) || !text(value.user)) return null;
  return { clientId: value.clientId, device: value.device, user: value.user, noticedAt: value.noticedAt };
}

export const unreadCountOf = (value: unknown): number => (count(value) ? value : 0);

/** The authors as stored; anything that is not one reads as nobody known. */
export function readAuthors(value: unknown): Authors {
  if (!record(value)) return {};
  const authors: Record<string, { user: string | null; device: string | null }> = {};
  for (const [clientId, author] of Object.entries(value)) {
    if (record(author) && text(author.user) && text(author.device)) {
      authors[clientId] = { user: author.user, device: author.device };
    }
  }
  return authors;
}
