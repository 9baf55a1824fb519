import { type FormEvent, type ReactNode, useState } from 'react';
import * as v from 'valibot';
import type { Outpost } from '../app/outpost';
import type { FaultSettings } from '../mocks/faults';
import { Field } from './components/field';
import { useObservable } from './hooks';

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
          <Toggle checked={faults.offline} onChange={(offline) => set({ offline })}>
            Server unreachable (offline)
          </Toggle>
          <Slider
            label={`Latency: ${faults.latencyMs} ms`}
            max={5000}
            step={100}
            value={faults.latencyMs}
            onChange={(latencyMs) => set({ latencyMs })}
          />
          <Slider
            label={`Failure rate: ${percent(faults.failureRate)}`}
            max={1}
            step={0.05}
            value={faults.failureRate}
            onChange={(failureRate) => set({ failureRate })}
          />
          <Slider
            label={`Lost acknowledgements: ${percent(faults.ackLossRate)}`}
            max={1}
            step={0.05}
            value={faults.ackLossRate}
            onChange={(ackLossRate) => set({ ackLossRate })}
          />
          <Toggle checked={faults.unauthorized} onChange={(unauthorized) => set({ unauthorized })}>
            Session expired (401)
          </Toggle>
          <Toggle checked={faults.captivePortal} onChange={(captivePortal) => set({ captivePortal })}>
            Captive portal (HTML instead of JSON)
          </Toggle>
          <MaxBodyControl value={faults.maxBodyBytes} onChange={(maxBodyBytes) => set({ maxBodyBytes })} />
        </div>
      ) : (
        <p className="muted">Waiting for the mock server…</p>
      )}
    </details>
  );
}

function Toggle({
  checked,
  onChange,
  children,
}: {
  readonly checked: boolean;
  readonly onChange: (checked: boolean) => void;
  readonly children: ReactNode;
}) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} />
      {children}
    </label>
  );
}

/** A fault setting from zero up to `max`; the label shows the current value. */
function Slider({
  label,
  max,
  step,
  value,
  onChange,
}: {
  readonly label: string;
  readonly max: number;
  readonly step: number;
  readonly value: number;
  readonly onChange: (value: number) => void;
}) {
  return (
    <label>
      <span>{label}</span>
      <input
        type="range"
        min={0}
        max={max}
        step={step}
        value={value}
        onChange={(event) => onChange(Number(event.target.value))}
      />
    </label>
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
