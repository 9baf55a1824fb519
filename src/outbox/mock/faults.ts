import { BehaviorSubject, type Observable } from 'rxjs';
import * as v from 'valibot';
import type { Result } from '../result';
import { type ValidationError, validate } from '../validation';

export const FAILURE_KINDS = ['500', '503', 'network', 'timeout'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

const Probability = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const Seconds = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(86_400));

/**
 * What the mock backend does wrong, as plain data the demo UI can show, edit and persist. Checked at runtime
 * because it also arrives by `postMessage` from the page.
 */
export const FaultSettingsSchema = v.strictObject({
  /** Every request fails like a dropped connection. */
  offline: v.boolean(),
  /** Added before any answer, in milliseconds. */
  latencyMs: v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(120_000)),
  /** Share of requests that fail with one of `failureKinds`, picked at random. */
  failureRate: Probability,
  failureKinds: v.array(v.picklist(FAILURE_KINDS)),
  /** `Retry-After` of the 503 failure kind. */
  retryAfterSeconds: Seconds,
  /** When set, every request is answered 429 with this `Retry-After`. */
  rateLimit: v.nullable(v.strictObject({ retryAfterSeconds: Seconds })),
  /** Share of requests that the server handles and stores, but whose answer is lost on the way back. */
  ackLossRate: Probability,
  /** Every request is answered 200 with a Wi-Fi sign-in page in HTML, as a hotel network does. */
  captivePortal: v.boolean(),
  /** Every sync request but health is answered 401, as when a session expired. */
  unauthorized: v.boolean(),
  /** Pushes over this many bytes are answered 413; null leaves only the server's own 1 MiB limit. */
  maxBodyBytes: v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
});
export type FaultSettings = v.InferOutput<typeof FaultSettingsSchema>;

/** No faults. `timeout` is left out of the default kinds: it holds a request until the client aborts it. */
export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze<FaultSettings>({
  offline: false,
  latencyMs: 0,
  failureRate: 0,
  failureKinds: ['500', '503', 'network'],
  retryAfterSeconds: 1,
  rateLimit: null,
  ackLossRate: 0,
  captivePortal: false,
  unauthorized: false,
  maxBodyBytes: null,
});

export interface FaultControl {
  /** The settings now in force; replaced, never mutated, by `set` and `reset`. */
  readonly settings: FaultSettings;
  /** The current settings, then every change. */
  readonly settings$: Observable<FaultSettings>;
  /** Changes some settings; refuses the whole change (and keeps the old settings) when any value is bad. */
  set(partial: Partial<FaultSettings>): Result<FaultSettings, ValidationError>;
  /** Back to the settings the control was created with. */
  reset(): FaultSettings;
  /** Calls `listener` on every change (not with the current value); returns the unsubscribe function. */
  subscribe(listener: (settings: FaultSettings) => void): () => void;
  /** The seeded source every random fault decision draws from, so a failing run can be replayed. */
  random(): number;
}

/**
 * A fault control: plain settings plus a seeded random source. Given the same seed and the same requests, the
 * same requests fail, which keeps tests that use `failureRate` or `ackLossRate` reproducible.
 */
export function createFaultControl(
  initial: Partial<FaultSettings> = {},
  random: () => number = seededRandom(0x5eed),
): FaultControl {
  const start = validate(FaultSettingsSchema, { ...NO_FAULTS, ...initial });
  if (!start.ok) throw start.error;
  const subject = new BehaviorSubject<FaultSettings>(start.value);

  return {
    get settings() {
      return subject.getValue();
    },
    settings$: subject.asObservable(),
    set(partial) {
      const next = validate(FaultSettingsSchema, { ...subject.getValue(), ...partial });
      if (next.ok) subject.next(next.value);
      return next;
    },
    reset() {
      subject.next(start.value);
      return start.value;
    },
    subscribe(listener) {
      let first = true;
      const subscription = subject.subscribe((settings) => {
        if (first) {
          first = false;
          return;
        }
        listener(settings);
      });
      return () => subscription.unsubscribe();
    },
    random,
  };
}

/** mulberry32: a tiny seeded generator of floats in [0, 1); not for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
