/**
 * Where each stream type lives in the app and what a person calls one: the outbox inspector, the toasts and
 * the held-back callouts name a stream through this, never by knowing which stream types exist. A stream
 * type without an entry is named by its type and links nowhere.
 */
interface StreamScreenEntry {
  /** "order", "stock count": how a sentence names one. */
  readonly noun: string;
  /** The hash route of one stream's screen, by the aggregate's id. */
  readonly href: (id: string) => string;
}

const SCREENS: Readonly<Record<string, StreamScreenEntry>> = {
  order: { noun: 'order', href: (id) => `#/orders/${id}` },
  stockcount: { noun: 'stock count', href: (id) => `#/counts/${id}` },
};

/** A stream id's type name and aggregate id (`<streamType>-<uuid>`). */
function split(streamId: string): { readonly type: string; readonly id: string } | null {
  const dash = streamId.indexOf('-');
  return dash > 0 ? { type: streamId.slice(0, dash), id: streamId.slice(dash + 1) } : null;
}

/** The screen of the stream, or null when its stream type has none. */
export function hrefOfStream(streamId: string): string | null {
  const parts = split(streamId);
  const screen = parts ? SCREENS[parts.type] : undefined;
  return parts && screen ? screen.href(parts.id) : null;
}

/** How a sentence names the stream's aggregate: "order", "stock count", or the type's own name. */
export function nounOfStream(streamId: string): string {
  const type = split(streamId)?.type ?? 'stream';
  return SCREENS[type]?.noun ?? type;
}

/** How many of `streamIds` are of each stream type, for `streamCountText`. */
export function countByType(streamIds: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const streamId of streamIds) {
    const type = split(streamId)?.type ?? 'stream';
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

/** "3 orders and 1 stock count": streams counted by stream type, in a sentence. */
export function streamCountText(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([type, count]) => {
      const noun = SCREENS[type]?.noun ?? type;
      return `${count} ${count === 1 ? noun : `${noun}s`}`;
    });
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}
