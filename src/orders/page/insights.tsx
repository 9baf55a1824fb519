import { useLiveQuery } from 'dexie-react-hooks';
import { formatMoney } from '../../ui/format';
import { useOutpost } from '../../ui/outpost-context';
import { ScreenHeading } from '../../ui/screens/screen-heading';
import type { OrderDay } from '../order-count-rows';
import { readMedianAcknowledgementMs, readOrderInsights } from './order-insights';

const DAYS_SHOWN = 14;
const DAY_MS = 86_400_000;

interface DayBar {
  readonly day: string;
  readonly placed: number;
  readonly confirmed: number;
  readonly rejected: number;
}

/** The last DAYS_SHOWN UTC days up to today (by the injected clock), oldest first. */
function lastDays(now: number): string[] {
  const days: string[] = [];
  for (let back = DAYS_SHOWN - 1; back >= 0; back -= 1) {
    days.push(new Date(now - back * DAY_MS).toISOString().slice(0, 10));
  }
  return days;
}

const barOf = ({ id, placed, confirmed, rejected }: OrderDay): DayBar => ({
  day: id,
  placed,
  confirmed,
  rejected,
});

const percent = (rate: number | null): string => (rate === null ? '—' : `${Math.round(rate * 100)} %`);

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/**
 * Analytics from the order's counter rows, kept in each command's own transaction: this screen reads a few
 * rows (and the latest decisions, for the acknowledgement time) however many orders exist. Two live queries,
 * so a command that decides nothing does not read the decisions again.
 */
export function InsightsScreen() {
  const { db, clock } = useOutpost();
  const days = lastDays(clock.now());
  const insights = useLiveQuery(() => readOrderInsights(db, days), [db, days.join()]);
  const medianAckMs = useLiveQuery(() => readMedianAcknowledgementMs(db), [db]) ?? null;
  const bars = (insights?.days ?? days.map((id) => ({ id, placed: 0, confirmed: 0, rejected: 0 }))).map(
    barOf,
  );
  const revenue = insights?.revenue ?? [];
  const confirmed = insights?.confirmed ?? 0;
  const rejected = insights?.rejected ?? 0;

  return (
    <section aria-labelledby="insights-heading">
      <ScreenHeading id="insights-heading">Insights</ScreenHeading>
      <dl className="metrics">
        <div className="metric">
          <dt>Confirmation rate</dt>
          <dd>{percent(insights?.confirmationRate ?? null)}</dd>
        </div>
        <div className="metric">
          <dt>Confirmed / rejected</dt>
          <dd>
            {confirmed} / {rejected}
          </dd>
        </div>
        <div className="metric">
          <dt>Median time to acknowledgement</dt>
          <dd>{duration(medianAckMs)}</dd>
        </div>
        <div className="metric">
          <dt>Waiting for a decision</dt>
          <dd>{insights?.waiting ?? 0}</dd>
        </div>
        <div className="metric">
          <dt>Revenue (confirmed)</dt>
          <dd>
            {revenue.length === 0
              ? '—'
              : revenue.map(({ id: currency, confirmed: minor }) => (
                  <span key={currency} className="metric__line">
                    {formatMoney(minor, currency)}
                  </span>
                ))}
          </dd>
        </div>
      </dl>
      <div className="card">
        <h2 id="per-day-heading">Orders per day</h2>
        <DayChart bars={bars} />
        <table className="table table--compact" aria-labelledby="per-day-heading">
          <caption className="visually-hidden">Orders placed, confirmed and rejected per day (UTC)</caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" className="num">
                Placed
              </th>
              <th scope="col" className="num">
                Confirmed
              </th>
              <th scope="col" className="num">
                Rejected
              </th>
            </tr>
          </thead>
          <tbody>
            {bars
              .filter((bar) => bar.placed + bar.confirmed + bar.rejected > 0)
              .map((bar) => (
                <tr key={bar.day}>
                  <th scope="row">{bar.day}</th>
                  <td className="num">{bar.placed}</td>
                  <td className="num">{bar.confirmed}</td>
                  <td className="num">{bar.rejected}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

const WIDTH = 560;
const HEIGHT = 160;
const AXIS = 18;

/** Plain SVG: grouped bars per day. The table after it carries the same numbers for screen readers. */
function DayChart({ bars }: { readonly bars: readonly DayBar[] }) {
  const max = Math.max(1, ...bars.map((bar) => Math.max(bar.placed, bar.confirmed, bar.rejected)));
  const slot = WIDTH / bars.length;
  const barWidth = Math.max(2, (slot - 6) / 3);
  const scale = (value: number) => ((HEIGHT - AXIS) * value) / max;
  const totalPlaced = bars.reduce((sum, bar) => sum + bar.placed, 0);
  const label = `Orders per day over the last ${bars.length} days: ${totalPlaced} placed, ${bars.reduce((s, b) => s + b.confirmed, 0)} confirmed, ${bars.reduce((s, b) => s + b.rejected, 0)} rejected. Busiest day ${max}.`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} className="chart__svg">
        <line x1={0} x2={WIDTH} y1={HEIGHT - AXIS} y2={HEIGHT - AXIS} className="chart__axis" />
        <line x1={0} x2={WIDTH} y1={0.5} y2={0.5} className="chart__axis" />
        <text x={WIDTH - 2} y={12} className="chart__label" textAnchor="end">
          {max}
        </text>
        {bars.map((bar, index) => {
          const x = index * slot + 3;
          const series = [
            ['placed', bar.placed],
            ['confirmed', bar.confirmed],
            ['rejected', bar.rejected],
          ] as const;
          return (
            <g key={bar.day}>
              {series.map(([name, value], offset) => (
                <rect
                  key={name}
                  className={`chart__bar chart__bar--${name}`}
                  x={x + offset * barWidth}
                  y={HEIGHT - AXIS - scale(value)}
                  width={barWidth}
                  height={scale(value)}
                />
              ))}
              {index % 2 === bars.length % 2 ? null : (
                <text x={x + slot / 2 - 3} y={HEIGHT - 4} className="chart__label" textAnchor="middle">
                  {bar.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="chart__legend">
        <span className="legend legend--placed">Placed</span>
        <span className="legend legend--confirmed">Confirmed</span>
        <span className="legend legend--rejected">Rejected</span>
      </figcaption>
    </figure>
  );
}
