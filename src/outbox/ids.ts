/** Id and time sources, injected everywhere so tests and replays are deterministic. */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock: `Date.now()`. */
export const systemClock: Clock = { now: () => Date.now() };

export type RandomBytes = (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>;

export const cryptoRandom: RandomBytes = (bytes) => crypto.getRandomValues(bytes);

/** Makes a fresh, unique id on each call (a UUIDv7 in production). */
export type IdGenerator = () => string;

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made later sort later, so
 * IndexedDB and SQLite indexes on them stay append-mostly. Within one millisecond a monotonic counter in
 * the random bits keeps ids from one generator strictly increasing.
 */
export function uuidv7Generator(clock: Clock = systemClock, random: RandomBytes = cryptoRandom): IdGenerator {
  let lastMs = -1;
  let counter = 0;
  return () => {
    const bytes = random(new Uint8Array(16));
    let ms = clock.now();
    if (ms <= lastMs) {
      ms = lastMs;
      counter += 1;
      if (counter > 0xfff) {
        ms += 1;
        counter = 0;
      }
    } else {
      counter = (bytes[6] ?? 0) & 0x07;
    }
    lastMs = ms;
    bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
    bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
    bytes[2] = (ms >>> 24) & 0xff;
    bytes[3] = (ms >>> 16) & 0xff;
    bytes[4] = (ms >>> 8) & 0xff;
    bytes[5] = ms & 0xff;
    bytes[6] = 0x70 | ((counter >>> 8) & 0x0f);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** A UUIDv7 generator on the system clock. */
export const newId: IdGenerator = uuidv7Generator();

/** A clock tests can move by hand. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 10, 26, 12, 0, 0)) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
  /** Sets the clock to `ms` since the Unix epoch. */
  set(ms: number): void {
    this.current = ms;
  }
}
