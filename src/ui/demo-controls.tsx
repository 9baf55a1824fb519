import type { Outpost } from '../app/outpost';
import type { FaultSettings } from '../mocks/faults';
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
        </div>
      ) : (
        <p className="muted">Waiting for the mock server…</p>
      )}
    </details>
  );
}
