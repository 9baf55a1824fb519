import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DEMO_BUILD } from './app/build-flags';
import { createOutpost, type Outpost } from './app/outpost';
import { openAppDb } from './app/schema';
import { registerWorker, type WorkProgress } from './outbox/page';
import { App } from './ui/app';

declare global {
  interface Window {
    /** Demo builds only: the browser tests drive the app through it. */
    __outpost?: Outpost;
  }
}

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
const root = createRoot(container);

// Registered before the database opens so the first visit starts precaching as early as possible.
const worker = registerWorker({ dev: import.meta.env.DEV });

// Opened here so the page can show a rebuild of the read models that an upgrade owes while it runs: every
// query, and so the app itself, waits for it. Almost never happens, so its screen loads only then.
let rebuilding: WorkProgress | null = null;
const db = openAppDb({
  onRebuild: (progress) => {
    rebuilding = progress;
    if (!progress) return;
    void import('./ui/components/rebuild-progress').then(({ RebuildProgress }) => {
      // Still under way: the rebuild ends (null) before the app can open, so this never covers the app.
      if (rebuilding) root.render(<RebuildProgress progress={rebuilding} />);
    });
  },
});

createOutpost({ worker, db })
  .then((outpost) => {
    if (DEMO_BUILD) window.__outpost = outpost;
    root.render(
      <StrictMode>
        <App outpost={outpost} />
      </StrictMode>,
    );
  })
  .catch((error: unknown) => {
    // Without IndexedDB (blocked storage, some private modes) nothing can be saved: say so plainly.
    console.error(error);
    container.textContent =
      'Outpost cannot open its local database in this browser, so it cannot save orders. ' +
      'Check that site data is allowed for this site, then reload.';
  });
