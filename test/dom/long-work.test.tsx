import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openAppDb } from '../../src/app/schema';
import type { OutpostDb, WorkProgress } from '../../src/outbox/page';
import { App } from '../../src/ui/app';
import { RebuildProgress } from '../../src/ui/components/rebuild-progress';
import { catchDownloads } from './support/downloads';
import { createTestOutpost, type TestOutpost } from './support/test-outpost';

/**
 * Issue 23, item 8: long work shows how far it got, in counts, on a store large enough to take several
 * steps: the rebuild a layout upgrade owes (every query waits for it, so the page shows this instead of
 * nothing), and the archive with its export.
 */

const DAY = 24 * 60 * 60 * 1000;
/** Every text the page showed, however briefly: a step drawn and replaced within a task is still seen. */
function recordTexts(pattern: RegExp): string[] {
  const seen: string[] = [];
  const observer = new MutationObserver(() => {
    for (const match of document.body.textContent?.match(new RegExp(pattern, 'g')) ?? []) {
      if (seen.at(-1) !== match) seen.push(match);
    }
  });
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  return seen;
}

let outpost: TestOutpost | null = null;
const opened: OutpostDb[] = [];

afterEach(async () => {
  cleanup();
  vi.restoreAllMocks();
  if (outpost) {
    await outpost.settle();
    outpost.db.close();
  }
  for (const db of opened.splice(0)) db.close();
  outpost = null;
  window.location.hash = '';
});

/** `orders` orders created and cancelled (settled, as archiving wants them), in one group of commands. */
async function cancelledOrders(target: TestOutpost, orders: number): Promise<void> {
  const ids = Array.from({ length: orders }, () => target.ids());
  const answers = await Promise.all(
    ids.flatMap((orderId, index) => [
      target.execute({
        command: { type: 'CreateOrder', orderId, customerName: `Kiosk ${index}`, currency: 'EUR' },
      }),
      target.execute({ command: { type: 'CancelOrder', orderId, reason: 'Closed for the season' } }),
    ]),
  );
  expect(answers.every((answer) => answer.ok)).toBe(true);
}

describe('a rebuild of the read models', () => {
  it('shows the events replayed of all the events, page by page, then gives way to the app', async () => {
    outpost = await createTestOutpost();
    await cancelledOrders(outpost, 300); // 600 events: two pages of the rebuild's 500
    await outpost.settle();
    const name = outpost.db.name;
    outpost.db.close();
    outpost = null;
    // What a layout upgrade leaves behind (src/outbox/page/database.ts): a note that a rebuild is owed.
    const noted = openAppDb({ name });
    await noted.table('meta').put({ key: 'readModelsRebuildOwed', value: 7 });
    noted.close();

    const steps: (WorkProgress | null)[] = [];
    const shown = recordTexts(/Reading the events stored on this device: [\d,]+ of [\d,]+ events/);
    // As the page's root does (src/main.tsx): each step drawn as it is told.
    const { rerender } = render(<p>Opening</p>);
    const db = openAppDb({
      name,
      onRebuild: (progress) => {
        steps.push(progress);
        rerender(progress ? <RebuildProgress progress={progress} /> : <p>Opened</p>);
      },
    });
    opened.push(db);
    await db.open();

    expect(steps).toEqual([{ done: 500, total: 600 }, { done: 600, total: 600 }, null]);
    await waitFor(() => expect(screen.queryByRole('progressbar')).toBeNull());
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.at(-1)).toMatch(/of 600 events$/);
    expect(await db.table('orders').count()).toBe(300);
  }, 30_000);
});

describe('archiving settled records', () => {
  it('counts the export and the archive as they go, a batch of 200 at a time', async () => {
    const active = await createTestOutpost({ online: true });
    outpost = active;
    await cancelledOrders(active, 450);
    await active.syncNow();
    await waitFor(async () => expect(await active.db.outbox.count()).toBe(0), { timeout: 20_000 });
    const controls = await active.retention();
    await controls.setDays(30);
    active.clock.advance(31 * DAY);

    const due = await controls.due();
    expect(due.candidates).toHaveLength(450);
    const exported: WorkProgress[] = [];
    const archived: WorkProgress[] = [];
    await controls.exportDue(due, (progress) => exported.push(progress));
    // Nothing changed in between: the archive takes the same 450.
    const outcome = await controls.archive(await controls.due(), (progress) => archived.push(progress));
    expect(outcome.archived).toHaveLength(450);
    const steps = [200, 400, 450].map((done) => ({ done, total: 450 }));
    expect(exported).toEqual(steps);
    expect(archived).toEqual(steps);
  }, 60_000);

  it('shows what it is doing, in counts, on the Outbox screen', async () => {
    const active = await createTestOutpost({ online: true });
    outpost = active;
    await cancelledOrders(active, 250);
    await active.syncNow();
    await waitFor(async () => expect(await active.db.outbox.count()).toBe(0), { timeout: 20_000 });
    await (await active.retention()).setDays(30);
    active.clock.advance(31 * DAY);
    const files = catchDownloads();
    const shown = recordTexts(/(Exporting|Archiving): [\d,]+ of 250 orders and stock counts/);

    window.location.hash = '#/outbox';
    render(<App outpost={active} ids={active.ids} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Export, then archive' }));
    await screen.findByText(/Archived 250 orders\./, {}, { timeout: 20_000 });

    expect(files).toHaveLength(1);
    expect(shown).toEqual(
      expect.arrayContaining([
        'Exporting: 200 of 250 orders and stock counts',
        'Archiving: 200 of 250 orders and stock counts',
      ]),
    );
    expect(shown.indexOf('Exporting: 200 of 250 orders and stock counts')).toBeLessThan(
      shown.indexOf('Archiving: 200 of 250 orders and stock counts'),
    );
    expect(screen.queryByRole('progressbar')).toBeNull();
  }, 60_000);
});
