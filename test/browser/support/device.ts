/**
 * What the device holds, read in the page with the raw IndexedDB API: the production build has no
 * `window.__outpost`, and a test that only watches must not go through the app (no flush, no command, no
 * focus). The same function runs in Chromium (Playwright) and Firefox (puppeteer): pass it to `page.evaluate`.
 */

export interface DeviceClientEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
}

export interface DeviceOutboxRow {
  readonly eventId: string;
  readonly status: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
}

export interface DeviceLease {
  readonly batchId: string;
  readonly ownerId: string;
  readonly until: number;
  readonly events: number;
}

export interface DeviceState {
  /** False until the app has created its database. */
  readonly exists: boolean;
  readonly clientId: string | null;
  readonly clientEvents: readonly DeviceClientEvent[];
  /** The server's decisions the device has stored (by push answer or pull). */
  readonly serverEventIds: readonly string[];
  readonly outbox: readonly DeviceOutboxRow[];
  readonly leases: readonly DeviceLease[];
  /** `meta.syncStatus` as stored (lastError, nextAttemptAt, pullOwed…), for failure messages. */
  readonly syncStatus: unknown;
  /** The page's clock when it read, to compare with `nextAttemptAt` and lease `until`. */
  readonly readAt: number;
}

/**
 * Self-contained (it is serialised into the page): no imports, no helpers from outside. Opens `outpost`
 * without a version and aborts any upgrade, so a read can never create or change the database.
 */
export async function readDevice(): Promise<DeviceState> {
  const readAt = Date.now();
  const empty: DeviceState = {
    exists: false,
    clientId: null,
    clientEvents: [],
    serverEventIds: [],
    outbox: [],
    leases: [],
    syncStatus: null,
    readAt,
  };
  const names = await indexedDB.databases();
  if (!names.some((info) => info.name === 'outpost')) return empty;
  const db = await new Promise<IDBDatabase | null>((resolve, reject) => {
    const request = indexedDB.open('outpost');
    request.onupgradeneeded = () => request.transaction?.abort();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => (request.error?.name === 'AbortError' ? resolve(null) : reject(request.error));
  });
  if (!db) return empty;
  try {
    const tx = db.transaction(['events', 'outbox', 'leases', 'meta'], 'readonly');
    // Inline on purpose: a named helper here would be wrapped by transpilers (`__name`) the page lacks.
    const [events, outbox, leases, meta] = (await Promise.all(
      ['events', 'outbox', 'leases', 'meta'].map(
        (store) =>
          new Promise<unknown[]>((resolve, reject) => {
            const request = tx.objectStore(store).getAll();
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          }),
      ),
    )) as [
      { kind: string; eventId: string; streamId: string; version?: number; position: number }[],
      DeviceOutboxRow[],
      { batchId: string; ownerId: string; until: number; eventIds: string[] }[],
      { key: string; value: unknown }[],
    ];
    events.sort((a, b) => a.position - b.position);
    const clientId = meta.find((row) => row.key === 'clientId')?.value;
    return {
      exists: true,
      clientId: typeof clientId === 'string' ? clientId : null,
      clientEvents: events
        .filter((event) => event.kind === 'client')
        .map((event) => ({ eventId: event.eventId, streamId: event.streamId, version: event.version ?? 0 })),
      serverEventIds: events.filter((event) => event.kind === 'server').map((event) => event.eventId),
      outbox: outbox.map((row) => ({
        eventId: row.eventId,
        status: row.status,
        attempts: row.attempts,
        nextAttemptAt: row.nextAttemptAt,
        lastError: row.lastError,
      })),
      leases: leases.map((lease) => ({
        batchId: lease.batchId,
        ownerId: lease.ownerId,
        until: lease.until,
        events: lease.eventIds.length,
      })),
      syncStatus: meta.find((row) => row.key === 'syncStatus')?.value ?? null,
      readAt,
    };
  } finally {
    db.close();
  }
}

/** A one-line account of the device for a failure message or a summary (`brief`: counts and timing only). */
export function describeDevice(device: DeviceState, { brief = false } = {}): string {
  if (!device.exists) return 'no database yet';
  const byStatus = new Map<string, number>();
  for (const row of device.outbox) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
  const maxAttempts = Math.max(0, ...device.outbox.map((row) => row.attempts));
  // 0 means "may go at once" (never failed); only a backoff says when.
  const backoffs = device.outbox.filter((row) => row.status === 'pending' && row.nextAttemptAt > 0);
  const due =
    backoffs.length > 0
      ? `, latest backoff ends in ${((Math.max(...backoffs.map((row) => row.nextAttemptAt)) - device.readAt) / 1000).toFixed(1)} s`
      : '';
  const leases = device.leases
    .map(
      (lease) =>
        `${lease.events} events by ${lease.ownerId}, expiring in ${((lease.until - device.readAt) / 1000).toFixed(1)} s`,
    )
    .join('; ');
  const counts =
    `outbox ${device.outbox.length} ${JSON.stringify(Object.fromEntries(byStatus))} (max attempts ${maxAttempts}${due}), ` +
    `leases ${device.leases.length}${leases ? ` [${leases}]` : ''}`;
  if (brief) return counts;
  return (
    `client events ${device.clientEvents.length}, server decisions ${device.serverEventIds.length}, ${counts}, ` +
    `syncStatus ${JSON.stringify(device.syncStatus)}`
  );
}
