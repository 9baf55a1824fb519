import * as v from 'valibot';
import { UuidSchema } from '../../fields';
import { DeviceNameSchema } from '../../protocol/feed';
import { ok, type Result } from '../../result';
import type { OutboxDatabase, OutboxRecords } from '../../storage/outbox-database';
import { type ValidationError, validate } from '../../validation';
import { VANISHED_KEY, type Vanished } from './feed-facts';

export { readVanished, VANISHED_KEY, type Vanished } from './feed-facts';

/**
 * This device as others see it (docs/sync.md, "Devices"): the name a person gave it (or none yet: a name made
 * from the browser is used), and what the server last heard of it, so it is told again only when the name or
 * the clientId changes. And, once, what the server said when it met this device with an empty database: that
 * its database vanished since its last visit.
 */
export const DEVICE_KEY = 'device';

export const DeviceRecordSchema = v.object({
  name: v.nullable(DeviceNameSchema),
  registered: v.nullable(v.object({ clientId: UuidSchema, name: v.string() })),
});
export type DeviceRecord = v.InferOutput<typeof DeviceRecordSchema>;

const noRecord: DeviceRecord = { name: null, registered: null };

export async function readDeviceWithin(records: OutboxRecords): Promise<DeviceRecord> {
  const parsed = v.safeParse(DeviceRecordSchema, await records.meta(DEVICE_KEY));
  return parsed.success ? parsed.output : noRecord;
}

export function readDevice(database: OutboxDatabase): Promise<DeviceRecord> {
  return database.transact('r', ['meta'], readDeviceWithin);
}

export interface DeviceRegistered {
  readonly clientId: string;
  readonly name: string;
  /** What the server said this browser was before, when its database vanished; null otherwise. */
  readonly previous: Omit<Vanished, 'noticedAt'> | null;
  readonly now: number;
}

/** The server heard of this device: remember under which clientId and name, and a vanished database. */
export function recordDevice(database: OutboxDatabase, registered: DeviceRegistered): Promise<void> {
  return database.transact('rw', ['meta'], async (records) => {
    const current = await readDeviceWithin(records);
    await records.putMeta(DEVICE_KEY, {
      ...current,
      registered: { clientId: registered.clientId, name: registered.name },
    });
    if (registered.previous) {
      await records.putMeta(VANISHED_KEY, { ...registered.previous, noticedAt: registered.now });
    }
  });
}

/**
 * The person named this device; the server hears it at the next sync. A name that is not one (empty, too
 * long) is a `ValidationError` and nothing is stored.
 */
export async function renameDevice(
  database: OutboxDatabase,
  name: string,
): Promise<Result<string, ValidationError>> {
  const checked = validate(DeviceNameSchema, name);
  if (!checked.ok) return checked;
  await database.transact('rw', ['meta'], async (records) => {
    const current = await readDeviceWithin(records);
    await records.putMeta(DEVICE_KEY, { ...current, name: checked.value });
  });
  return ok(checked.value);
}

/** The person read the notice. */
export function dismissVanished(database: OutboxDatabase): Promise<void> {
  return database.transact('rw', ['meta'], (records) => records.putMeta(VANISHED_KEY, null));
}

/**
 * A name people recognise a device by before anyone gives it one: its browser and system, and the end of
 * its clientId so two alike tell apart ("Chrome on Android · 7F3A").
 */
export function defaultDeviceName(userAgent: string, clientId: string): string {
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : 'Browser';
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPod/.test(userAgent)
      ? 'iPhone'
      : /iPad/.test(userAgent)
        ? 'iPad'
        : /CrOS/.test(userAgent)
          ? 'ChromeOS'
          : /Windows/.test(userAgent)
            ? 'Windows'
            : /Mac OS X|Macintosh/.test(userAgent)
              ? 'Mac'
              : /Linux/.test(userAgent)
                ? 'Linux'
                : null;
  const tag = clientId.replace(/-/g, '').slice(-4).toUpperCase();
  return `${browser}${system ? ` on ${system}` : ''} · ${tag}`;
}
