import { useCallback, useEffect, useId, useState } from 'react';
import type { ArchiveDue, ArchiveOutcome, WorkProgress } from '../../outbox/page';
import { FormAlert } from '../components/field';
import { ProgressBar } from '../components/progress-bar';
import { downloadFile } from '../download';
import { formatDateTime } from '../format';
import { useOutpost, useStreamScreens } from '../outpost-context';
import type { StreamScreens } from '../stream-ui';

/** The choices offered; any whole number of days from 1 to 3650 is valid underneath. */
const CHOICES: readonly { readonly days: number | null; readonly label: string }[] = [
  { days: null, label: 'Always (nothing is archived)' },
  { days: 30, label: '30 days' },
  { days: 90, label: '90 days' },
  { days: 180, label: '180 days' },
  { days: 365, label: '1 year' },
];

type Busy = 'saving' | 'finding' | 'exporting' | 'archiving' | null;

/** "Archived 12 orders. 1 order stayed: it changed since it was found." */
function outcomeText(outcome: ArchiveOutcome, exported: string | null, streams: StreamScreens): string {
  const { countByType, streamCountText } = streams;
  const parts = [
    outcome.archived.length === 0
      ? 'Nothing was archived.'
      : `Archived ${streamCountText(countByType(outcome.archived))}.`,
  ];
  if (exported) parts.unshift(`Saved ${exported}.`);
  const reasons = new Map<string, string[]>();
  for (const { streamId, reason } of outcome.kept)
    reasons.set(reason, [...(reasons.get(reason) ?? []), streamId]);
  for (const [reason, streamIds] of reasons) {
    parts.push(`${streamCountText(countByType(streamIds))} stayed: ${reason}.`);
  }
  return parts.join(' ');
}

/**
 * Retention, as the person sets it (src/outbox/device/read-models/retention.ts): how long settled records stay on this
 * device, what that makes due, and archiving it, with the export offered first. Off until they choose.
 */
export function RetentionCard() {
  const streams = useStreamScreens();
  const outpost = useOutpost();
  const selectId = useId();
  const [days, setDays] = useState<number | null | undefined>(undefined);
  const [due, setDue] = useState<ArchiveDue | null>(null);
  const [busy, setBusy] = useState<Busy>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<WorkProgress | null>(null);

  const find = useCallback(async () => {
    setBusy('finding');
    try {
      const controls = await outpost.retention();
      const found = await controls.due();
      setDays(found.setting.days);
      setDue(found);
    } catch (e) {
      setError(`Could not look for settled records: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  }, [outpost]);

  useEffect(() => {
    void find();
  }, [find]);

  const choose = async (value: string) => {
    const chosen = value === '' ? null : Number(value);
    setError(null);
    setMessage(null);
    setBusy('saving');
    try {
      await (await outpost.retention()).setDays(chosen);
      setDays(chosen);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(null);
      return;
    }
    await find();
  };

  const archive = async (withExport: boolean) => {
    if (!due) return;
    setError(null);
    setMessage(null);
    try {
      const controls = await outpost.retention();
      let exported: string | null = null;
      if (withExport) {
        setBusy('exporting');
        setProgress({ done: 0, total: due.candidates.length });
        const file = await controls.exportDue(due, setProgress);
        exported = downloadFile(file, 'outpost-archive', outpost.clock.now());
      }
      setBusy('archiving');
      setProgress({ done: 0, total: due.candidates.length });
      const outcome = await controls.archive(due, setProgress);
      setMessage(outcomeText(outcome, exported, streams));
    } catch (e) {
      setError(`Nothing was archived: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
      setProgress(null);
    }
    await find();
  };

  const count = due?.candidates.length ?? 0;
  const working = busy !== null;
  return (
    <div className="card retention">
      <h2>Keep on this device</h2>
      <p className="muted">
        Orders and stock counts that are settled (decided, cancelled, accepted or abandoned) and delivered can
        leave this device once they are old enough. The server keeps them, and the insights keep their totals.
        An archived order can no longer be changed on this device.
      </p>
      <div className="field">
        <label htmlFor={selectId}>Keep settled records for</label>
        <select
          id={selectId}
          value={days === undefined || days === null ? '' : String(days)}
          onChange={(event) => void choose(event.target.value)}
        >
          {days !== undefined && days !== null && !CHOICES.some((choice) => choice.days === days) ? (
            <option value={String(days)}>{days} days</option>
          ) : null}
          {CHOICES.map((choice) => (
            <option key={choice.label} value={choice.days === null ? '' : String(choice.days)}>
              {choice.label}
            </option>
          ))}
        </select>
      </div>
      <p className="retention__due" aria-live="polite">
        {busy === 'finding' || busy === 'saving'
          ? 'Looking for settled records…'
          : !due || due.before === null
            ? 'Everything stays on this device.'
            : count === 0
              ? `Nothing settled before ${formatDateTime(due.before)} is left on this device.`
              : `${streams.streamCountText(due.byType)} settled before ${formatDateTime(due.before)} can be archived (${due.events} events).${due.more ? ' More wait for the next archive.' : ''}`}
      </p>
      {count > 0 ? (
        <div className="toolbar">
          <button
            type="button"
            className="button button--primary"
            onClick={() => void archive(true)}
            disabled={working}
          >
            {busy === 'exporting'
              ? 'Exporting…'
              : busy === 'archiving'
                ? 'Archiving…'
                : 'Export, then archive'}
          </button>
          <button type="button" className="button" onClick={() => void archive(false)} disabled={working}>
            Archive without exporting
          </button>
        </div>
      ) : null}
      {progress && (busy === 'exporting' || busy === 'archiving') ? (
        <ProgressBar
          what={busy === 'exporting' ? 'Exporting' : 'Archiving'}
          progress={progress}
          unit="orders and stock counts"
        />
      ) : null}
      <p className="muted" role="status">
        {message}
      </p>
      <FormAlert message={error} />
    </div>
  );
}
