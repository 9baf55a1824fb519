import { type FormEvent, useState } from 'react';
import * as v from 'valibot';
import type { Outpost } from '../app/outpost';
import type { FaultSettings } from '../outbox/mock';
import { Field } from './components/field';
import { useObservable } from './use-observable';

type Demo = NonNullable<Outpost['demo']>;

const percent = (rate: number): string => `${Math.round(rate * 100)} %`;

/**
 * Demo builds only: switches on the mock server inside the service worker, so a visitor can cut the
 * connection or make the server flaky and watch the outbox keep every order.
 */
export function DemoControls({ demo }: { readonly demo: Demo }) {
  const faults = useObservable<FaultSettings | null>(demo.faults$, null);
  const set = (partial: Partial<FaultSettings>) => {
    void demo.setFaults(partial);
  };
  return (
    <details className="demo">
      <summary>Demo controls (mock server faults)</summary>
      {faults ? (
        <div className="demo__grid">
          <label className="check">
            <input
              type="checkbox"
              checked={faults.offline}
              onChange={(event) => set({ offline: event.target.checked })}
            />
            Server unreachable (offline)
          </label>
          <label>
            <span>Latency: {faults.latencyMs} ms</span>
            <input
              type="range"
              min={0}
              max={5000}
              step={100}
              value={faults.latencyMs}
              onChange={(event) => set({ latencyMs: Number(event.target.value) })}
            />
          </label>
          <label>
            <span>Failure rate: {percent(faults.failureRate)}</span>
            <input
              type="range"
              min={0}
              max={1}
              step={0.05}
              value={faults.failureRate}
              onChange={(event) => set({ failureRate: Number(event.target.value) })}
            />
          </label>
          <label>
            <span>Lost acknowledgements: {percent(faults.ackLossRate)}</span>
            <input
              type="range"
              min={0}
              max={1}
              step={0.05}
              value={faults.ackLossRate}
              onChange={(event) => set({ ackLossRate: Number(event.target.value) })}
            />
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={faults.unauthorized}
              onChange={(event) => set({ unauthorized: event.target.checked })}
            />
            Session expired (401)
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={faults.captivePortal}
              onChange={(event) => set({ captivePortal: event.target.checked })}
            />
            Captive portal (HTML instead of JSON)
          </label>
          <MaxBodyControl value={faults.maxBodyBytes} onChange={(maxBodyBytes) => set({ maxBodyBytes })} />
        </div>
      ) : (
        <p className="muted">Waiting for the mock server…</p>
      )}
    </details>
  );
}

/**
 * A server that refuses large pushes (413) turns an entry that cannot be split any further into a dead
 * letter: the quickest way to watch retry and discard work.
 */
function MaxBodyControl({
  value,
  onChange,
}: {
  readonly value: number | null;
  readonly onChange: (value: number | null) => void;
}) {
  const [text, setText] = useState(value === null ? '' : String(value));
  const [error, setError] = useState<string | undefined>();
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const parsed = v.safeParse(MaxBodySchema, text.trim());
    if (!parsed.success) {
      setError(parsed.issues[0]?.message);
      return;
    }
    setError(undefined);
    onChange(parsed.output);
  };
  return (
    <form onSubmit={apply} className="demo__inline" noValidate>
      <Field label="Refuse pushes larger than (bytes)" hint="Empty: no limit" error={error}>
        {(control) => (
          <input
            {...control}
            inputMode="numeric"
            value={text}
            onChange={(event) => setText(event.target.value)}
          />
        )}
      </Field>
      <button type="submit" className="button">
        Apply limit
      </button>
    </form>
  );
}

const MaxBodySchema = v.union(
  [
    v.pipe(
      v.literal(''),
      v.transform(() => null),
    ),
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'A whole number of bytes, or empty'),
      v.transform(Number),
      v.number(),
      v.integer(),
      v.minValue(1, 'At least 1 byte'),
    ),
  ],
  'A whole number of bytes, or empty',
);
