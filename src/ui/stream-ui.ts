import type { ReactElement } from 'react';
import { splitStreamId } from '../outbox';
import type { OutpostDb, StoredServerEvent } from '../outbox/page';
import type { Toast } from '../subscribers/notifications';

/**
 * What a stream type brings to the app's UI, as one value (its `page/index.tsx`): its routes and screens,
 * its entries in the main navigation, how a sentence names one of its streams, and the words for the
 * server's decisions on them. The app lists one per stream type (`stream-screens.ts`); nothing else of the
 * UI names a stream type.
 */
export interface StreamScreen {
  /** The stream type's name (`order`): its streams are `<name>-<uuid>`. */
  readonly name: string;
  /** How a sentence names one of its streams ("order", "stock count"); an `s` makes the plural. */
  readonly noun: string;
  /** The hash route of one stream's screen, by the aggregate's id. */
  readonly href: (id: string) => string;
  /** Its entries in the main navigation, in order. */
  readonly nav: readonly NavItem[];
  /** The screen a hash route shows, or null when the route is not one of this type's. */
  screen(hash: string): RoutedScreen | null;
  /** The notice for a server decision on one of its streams; null for an event it does not announce. */
  notice?(event: StoredServerEvent, db: OutpostDb): Promise<Notice | null>;
}

export interface NavItem {
  readonly href: string;
  readonly label: string;
  /** What a phone's one row of navigation shows instead; the link's name stays `label`, which contains it. */
  readonly short?: string;
}

export interface RoutedScreen {
  readonly element: ReactElement;
  /** The `href` of the navigation entry the screen belongs to (an order's screen: the orders list). */
  readonly nav: string;
}

/** A toast's words; the notification service adds its id and the link to the stream's screen. */
export type Notice = Omit<Toast, 'id' | 'href'>;

/** The app's stream screens together, and what the UI asks of them about any stream. */
export interface StreamScreens {
  readonly all: readonly StreamScreen[];
  readonly nav: readonly NavItem[];
  /** The first matching screen of any stream type; null when the route is none of theirs. */
  screen(hash: string): RoutedScreen | null;
  /** The screen of the stream, or null when its stream type has none. */
  hrefOfStream(streamId: string): string | null;
  /** How a sentence names the stream's aggregate: "order", "stock count", or the type's own name. */
  nounOfStream(streamId: string): string;
  /** How many of `streamIds` are of each stream type, for `streamCountText`. */
  countByType(streamIds: Iterable<string>): Record<string, number>;
  /** "3 orders and 1 stock count": streams counted by stream type, in a sentence. */
  streamCountText(counts: Readonly<Record<string, number>>): string;
  /** The toast for a server decision, worded by its stream type; null for anything it does not announce. */
  toastOf(event: StoredServerEvent, db: OutpostDb): Promise<Toast | null>;
}

export function createStreamScreens(list: readonly StreamScreen[]): StreamScreens {
  const byName = new Map(list.map((entry) => [entry.name, entry] as const));
  const typeOf = (streamId: string) => splitStreamId(streamId)?.name ?? 'stream';
  const nounOf = (type: string) => byName.get(type)?.noun ?? type;
  return {
    all: list,
    nav: list.flatMap((entry) => entry.nav),
    screen(hash) {
      for (const entry of list) {
        const found = entry.screen(hash);
        if (found) return found;
      }
      return null;
    },
    hrefOfStream(streamId) {
      const parts = splitStreamId(streamId);
      const entry = parts ? byName.get(parts.name) : undefined;
      return parts && entry ? entry.href(parts.id) : null;
    },
    nounOfStream: (streamId) => nounOf(typeOf(streamId)),
    countByType(streamIds) {
      const counts: Record<string, number> = {};
      for (const streamId of streamIds) {
        const type = typeOf(streamId);
        counts[type] = (counts[type] ?? 0) + 1;
      }
      return counts;
    },
    streamCountText(counts) {
      const parts = Object.entries(counts)
        .filter(([, count]) => count > 0)
        .map(([type, count]) => `${count} ${count === 1 ? nounOf(type) : `${nounOf(type)}s`}`);
      if (parts.length <= 1) return parts[0] ?? '';
      return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
    },
    async toastOf(event, db) {
      const parts = splitStreamId(event.streamId);
      const entry = parts ? byName.get(parts.name) : undefined;
      const notice = parts && entry?.notice ? await entry.notice(event, db) : null;
      return parts && entry && notice ? { ...notice, id: event.eventId, href: entry.href(parts.id) } : null;
    },
  };
}
