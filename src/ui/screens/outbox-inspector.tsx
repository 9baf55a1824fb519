import { useState } from 'react';
import * as v from 'valibot';
import { ReasonSchema } from '../../outbox';
import type { OutboxEntry, OutboxEntryStatus } from '../../outbox/page';
import { readOutboxSections } from '../../outbox/page';
import { DeliveryBadge } from '../components/delivery-badge';
import { Dialog } from '../components/dialog';
import { FormAlert } from '../components/field';
import { ReasonDialog } from '../components/reason-dialog';
import { PersistenceCard } from '../components/storage-persistence';
import { downloadFile } from '../download';
import { formatClock, shortId } from '../format';
import { useOutpost, useStreamScreens } from '../outpost-context';
import { useLiveRead } from '../use-live-read';
import { DeviceCard } from './device-card';
import { RetentionCard } from './retention-card';
import { ScreenHeading } from './screen-heading';

/** How many rows each section shows; the counts are always exact. */
const SHOWN = 100;

const SECTIONS: readonly { status: OutboxEntryStatus; title: string; empty: string }[] = [
  { status: 'dead', title: 'Needs attention', empty: 'No dead entries.' },
  { status: 'inflight', title: 'In flight', empty: 'Nothing is being sent right now.' },
  { status: 'pending', title: 'Pending', empty: 'Nothing waits to be sent.' },
  {
    status: 'parked',
    title: "Waiting for another person's sign-in",
    empty: 'Nothing written by another user waits here.',
  },
];

type Pending = { readonly action: 'retry' | 'discard'; readonly row: OutboxEntry } | null;

/**
 * Everything not yet delivered, in sending order, and what can be done about it: send now, retry or
 * discard a dead entry, or export the whole store for someone who can deliver it another way.
 */
export function OutboxInspectorScreen() {
  const outpost = useOutpost();
  const { db } = outpost;
  const read = useLiveRead(
    async (now) => {
      // In flight is derived from the live lease records, not stored on the rows (src/outbox/device/read-models/outbox-view.ts).
      const byState = await readOutboxSections(db, SHOWN, now);
      return {
        changesAt: byState.changesAt,
        sections: SECTIONS.map((section) => ({ ...section, ...byState[section.status] })),
      };
    },
    [db],
  );
  const sections = read?.sections;
  // A pending entry behind a dead one of its stream waits for the person, not for the clock.
  const deadFrom = new Map<string, number>();
  for (const row of sections?.find((section) => section.status === 'dead')?.rows ?? []) {
    deadFrom.set(row.streamId, Math.min(row.version, deadFrom.get(row.streamId) ?? row.version));
  }
  const nextAttempt = (row: OutboxEntry): string => {
    if (row.status === 'dead') return 'when you retry';
    if (row.status === 'parked')
      return row.writtenBy ? `when ${row.writtenBy} signs in` : 'at the next sign-in';
    const blocker = deadFrom.get(row.streamId);
    if (row.status === 'pending' && blocker !== undefined && blocker < row.version) {
      return `after v${blocker} is resolved`;
    }
    return row.nextAttemptAt > 0 ? formatClock(row.nextAttemptAt) : 'now';
  };
  const [pending, setPending] = useState<Pending>(null);
  const [syncing, setSyncing] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const syncNow = async () => {
    setSyncing(true);
    setError(null);
    try {
      await outpost.syncNow();
      setMessage('Sync finished.');
    } catch (e) {
      setError(`Sync failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setSyncing(false);
    }
  };

  const exportAll = async () => {
    setError(null);
    try {
      downloadFile(await outpost.exportBackup(), 'outpost-backup', outpost.clock.now());
      setMessage('Backup exported.');
    } catch (e) {
      setError(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  return (
    <section aria-labelledby="outbox-heading">
      <ScreenHeading id="outbox-heading">Outbox</ScreenHeading>
      <p className="screen-intro">
        Events saved on this device wait here until the server acknowledges them. Nothing leaves the outbox
        before that.
      </p>
      <div className="toolbar">
        <button type="button" className="button button--primary" onClick={syncNow} disabled={syncing}>
          {syncing ? 'Syncing…' : 'Sync now'}
        </button>
        <button type="button" className="button" onClick={exportAll}>
          Export outbox and events
        </button>
      </div>
      <p className="muted" role="status">
        {message}
      </p>
      <FormAlert message={error} />
      <PersistenceCard />
      {sections?.map((section) => (
        <div className="card" key={section.status}>
          <h2>
            {section.title} <span className="count">{section.count}</span>
          </h2>
          {section.rows.length === 0 ? (
            <p className="muted">{section.empty}</p>
          ) : (
            <div className="table-scroll">
              <table className="table outbox-table">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Of</th>
                    <th scope="col" className="num">
                      Attempts
                    </th>
                    <th scope="col">Next attempt</th>
                    <th scope="col">Last error</th>
                    {section.status === 'dead' ? <th scope="col">Actions</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {section.rows.map((row) => (
                    <tr key={row.eventId}>
                      <th scope="row">
                        {row.type} <span className="muted">v{row.version}</span>{' '}
                        <DeliveryBadge status={row.status} />
                      </th>
                      <td>
                        <StreamLink streamId={row.streamId} />
                      </td>
                      <td className="num">{row.attempts}</td>
                      <td>{nextAttempt(row)}</td>
                      {row.status === 'parked' ? (
                        // What the server last said is history: the entry waits for a person, not a server.
                        <td className="muted">—</td>
                      ) : (
                        <td className={row.deadCode || row.lastError ? 'error-text' : 'muted'}>
                          {[row.deadCode, row.lastError].filter(Boolean).join(': ') || '—'}
                        </td>
                      )}
                      {section.status === 'dead' ? (
                        <td className="row-actions">
                          <button
                            type="button"
                            className="button"
                            onClick={() => setPending({ action: 'retry', row })}
                          >
                            Retry
                            <span className="visually-hidden">
                              {' '}
                              {row.type} v{row.version}
                            </span>
                          </button>
                          <button
                            type="button"
                            className="button button--danger"
                            onClick={() => setPending({ action: 'discard', row })}
                          >
                            Discard
                            <span className="visually-hidden">
                              {' '}
                              {row.type} v{row.version}
                            </span>
                          </button>
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {section.count > section.rows.length ? (
            <p className="muted">
              Showing the first {section.rows.length} of {section.count}.
            </p>
          ) : null}
        </div>
      ))}
      {pending?.action === 'retry' ? (
        <RetryDialog
          row={pending.row}
          onClose={() => setPending(null)}
          onDone={() => {
            setPending(null);
            setMessage('Entry returned to the queue.');
          }}
        />
      ) : null}
      {pending?.action === 'discard' ? (
        <DiscardDialog
          row={pending.row}
          onClose={() => setPending(null)}
          onDone={() => {
            setPending(null);
            setMessage('Entry discarded.');
          }}
        />
      ) : null}
      <DeviceCard />
      <RetentionCard />
    </section>
  );
}

interface EntryDialogProps {
  readonly row: OutboxEntry;
  readonly onClose: () => void;
  readonly onDone: () => void;
}

/** Runs a dialog's one action: busy while it runs, done on success, the refusal shown on failure. */
function useEntryAction(onDone: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await action();
      onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };
  return { run, busy, error };
}

function RetryDialog({ row, onClose, onDone }: EntryDialogProps) {
  const outpost = useOutpost();
  const { run, busy, error } = useEntryAction(onDone);
  const confirm = () => void run(() => outpost.retryDeadLetter(row.eventId));
  return (
    <Dialog title={`Retry ${row.type} v${row.version}?`} onClose={onClose}>
      <p>
        The entry goes back to the queue and is sent again with the next sync. It failed with:{' '}
        <span className="error-text">{row.lastError ?? row.deadCode ?? 'no message'}</span>
      </p>
      <FormAlert message={error} />
      <div className="form__actions">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button--primary" onClick={confirm} disabled={busy}>
          Retry entry
        </button>
      </div>
    </Dialog>
  );
}

function DiscardDialog({ row, onClose, onDone }: EntryDialogProps) {
  const { nounOfStream } = useStreamScreens();
  const outpost = useOutpost();
  const { run, busy, error } = useEntryAction(onDone);
  const [reasonError, setReasonError] = useState<string | undefined>();
  const submit = (reason: string) => {
    const checked = v.safeParse(ReasonSchema, reason);
    if (!checked.success) {
      setReasonError(checked.issues[0]?.message ?? 'A reason is required');
      return;
    }
    setReasonError(undefined);
    void run(() => outpost.discardDeadLetter(row.eventId, checked.output));
  };
  return (
    <ReasonDialog
      title={`Discard ${row.type} v${row.version}?`}
      label="Reason for discarding"
      keepLabel="Cancel"
      submitLabel="Discard entry"
      busy={busy}
      reasonError={reasonError}
      message={error}
      onSubmit={submit}
      onClose={onClose}
    >
      <p>
        The server will never receive this change or any later change of this {nounOfStream(row.streamId)}. It
        stays on this device, marked as discarded from version {row.version}.
      </p>
    </ReasonDialog>
  );
}

/** The entry's stream, named and linked to its screen when its stream type has one. */
function StreamLink({ streamId }: { readonly streamId: string }) {
  const { hrefOfStream, nounOfStream } = useStreamScreens();
  const href = hrefOfStream(streamId);
  const noun = nounOfStream(streamId);
  const label = `${noun[0]?.toUpperCase()}${noun.slice(1)} …${shortId(streamId)}`;
  return href ? (
    <a className="nowrap" href={href}>
      {label}
    </a>
  ) : (
    <span className="nowrap">{label}</span>
  );
}
