import type { WorkProgress } from '../../outbox/page';
import { ProgressBar } from './progress-bar';

/**
 * What the page shows while the device's data is brought to a new version's layout (a rebuild of the read
 * models from the events, which every query waits for): a progress bar, never a blank page.
 */
export function RebuildProgress({ progress }: { readonly progress: WorkProgress }) {
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
