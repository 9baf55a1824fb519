import { useMemo } from 'react';
import { rebuildProgress } from '../../outbox/client/db';
import type { OutpostDb } from '../../outbox/views';
import { useObservable } from '../use-observable';
import { ProgressBar } from './progress-bar';

/**
 * What the page shows while the device's data is brought to a new version's layout (a rebuild of the read
 * models from the events, which every query waits for): a progress bar, never a blank page. Nothing when no
 * rebuild runs, which is almost always.
 */
export function RebuildProgress({ db }: { readonly db: OutpostDb }) {
  const progress$ = useMemo(() => rebuildProgress(db), [db]);
  const progress = useObservable(progress$, null);
  if (!progress) return null;
  return (
    <main className="main starting">
      <h1 className="screen-heading">Updating Outpost</h1>
      <p className="screen-intro">
        This version keeps its lists in a new layout, so it is reading again what this device holds. Nothing
        is lost, and the app opens when it is done.
      </p>
      <ProgressBar what="Reading the events stored on this device" progress={progress} unit="events" />
    </main>
  );
}
