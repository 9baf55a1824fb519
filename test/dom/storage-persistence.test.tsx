import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/ui/app';
import { type FakeBrowserAnswers, type FakePersistence, fakePersistence } from '../support/fake-persistence';
import { createTestOutpost, seedOrder, type TestOutpost } from './support/test-outpost';

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };

let outpost: TestOutpost;
let browser: FakePersistence;

async function renderAt(hash: string, answers: FakeBrowserAnswers) {
  browser = fakePersistence(answers);
  outpost = await createTestOutpost({ persistence: browser });
  window.location.hash = hash;
  render(<App outpost={outpost} ids={outpost.ids} />);
}

const statusBar = () => screen.getByRole('region', { name: 'Sync status' });
/** The status's part about this device's data, once it loaded. */
const dataItem = () =>
  waitFor(() => {
    const item = within(statusBar()).getByText('Data on this device').parentElement;
    if (!item) throw new Error('no status item');
    return item;
  });
const card = async () =>
  (await screen.findByRole('heading', { name: 'Keeping the data on this device' })).closest(
    'section',
  ) as HTMLElement;

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('keeping the data on this device', () => {
  it('says persistent where the browser keeps the data, and warns of nothing while entries wait', async () => {
    await renderAt('#/outbox', { persisted: true });
    await seedOrder(outpost, 'Quay Bakery', [ESPRESSO]);
    const item = await dataItem();
    expect(item.textContent).toContain('Persistent: the browser keeps it until you clear it');
    await waitFor(() => expect(statusBar().textContent).toContain('Unsent 2'));
    expect(statusBar().textContent).not.toContain('may be cleared');
    expect(within(statusBar()).queryByRole('link', { name: /may be cleared/ })).toBeNull();
    const shown = await card();
    expect(shown.textContent).toContain('Persistent');
    expect(within(shown).queryByRole('button')).toBeNull();
    expect(browser.persist).not.toHaveBeenCalled();
  });

  it('asks the browser at the first order saved, and says the unsent entries may be cleared and what to do in Chrome', async () => {
    await renderAt('#/orders', { engine: 'chromium', grants: false, permission: 'prompt' });
    expect((await dataItem()).textContent).toContain('May be cleared by the browser');
    expect(browser.persist).not.toHaveBeenCalled();

    await seedOrder(outpost, 'Quay Bakery', [ESPRESSO]);
    await waitFor(() => expect(browser.persist).toHaveBeenCalledTimes(1));
    const item = await dataItem();
    await waitFor(() => expect(item.textContent).toContain('2 unsent entries may be cleared by the browser'));
    expect(
      within(item).getByText('2 unsent entries may be cleared by the browser').getAttribute('href'),
    ).toBe('#/outbox');
    // The status line, which a phone shows without opening the details, says it too, and leads to the card.
    const warning = within(statusBar()).getByRole('link', {
      name: '2 unsent entries may be cleared by the browser',
    });
    expect(warning.textContent).toBe('⚠');
    expect(warning.getAttribute('href')).toBe('#/outbox');
    expect(item.textContent).toContain('What to do');
    expect(item.textContent).toContain('install Outpost (the install icon in the address bar');

    await seedOrder(outpost, 'Harbour Café', [ESPRESSO]);
    expect(browser.persist).toHaveBeenCalledTimes(1);
  });

  it('lets the person ask again from the Outbox screen, and shows what Chrome answered', async () => {
    const user = userEvent.setup();
    await renderAt('#/outbox', { engine: 'chromium', askedBefore: true, grants: true });
    const shown = await card();
    expect(shown.textContent).toContain('May be cleared by the browser');
    await user.click(within(shown).getByRole('button', { name: 'Ask again' }));
    await waitFor(() => expect(shown.textContent).toContain('Persistent: the browser keeps it'));
    expect(within(shown).queryByRole('button')).toBeNull();
    expect((await dataItem()).textContent).toContain('Persistent');
  });

  it('says what Firefox asks while the question waits, and persistent once the person allows it', async () => {
    const user = userEvent.setup();
    await renderAt('#/outbox', { engine: 'firefox', grants: 'pending', permission: 'prompt' });
    const shown = await card();
    expect(shown.textContent).toContain('Firefox then asks you whether this site may store data');
    await user.click(within(shown).getByRole('button', { name: 'Ask the browser to keep it' }));
    await waitFor(() => expect(shown.textContent).toContain('Asking the browser to keep it…'));
    expect(shown.textContent).toContain('next to the address bar): answer Allow');
    browser.answer(true, 'granted');
    await waitFor(() => expect(shown.textContent).toContain('Persistent'));
  });

  it('tells a person who refused in Firefox where to undo it, and asks again only when they press', async () => {
    const user = userEvent.setup();
    await renderAt('#/outbox', { engine: 'firefox', permission: 'denied' });
    await seedOrder(outpost, 'Quay Bakery', [ESPRESSO]);
    const shown = await card();
    expect(shown.textContent).toContain('May be cleared by the browser');
    expect(shown.textContent).toContain('You refused persistent storage for this site');
    expect(browser.persist).not.toHaveBeenCalled();
    await user.click(within(shown).getByRole('button', { name: 'Ask again' }));
    await waitFor(() => expect(browser.persist).toHaveBeenCalledTimes(1));
    await waitFor(() => expect(shown.textContent).toContain('You refused persistent storage'));
  });

  it('says a Safari without the Storage API makes no promise, and names the Home Screen and the Dock', async () => {
    await renderAt('#/outbox', { engine: 'webkit', supported: false });
    await seedOrder(outpost, 'Quay Bakery', [ESPRESSO]);
    const shown = await card();
    expect(shown.textContent).toContain('May be cleared by the browser, which makes no promise to keep it');
    expect(shown.textContent).toContain('not used for 7 days');
    expect(shown.textContent).toContain('Add to Home Screen');
    expect(shown.textContent).toContain('Add to Dock');
    expect(within(shown).queryByRole('button')).toBeNull();
    await waitFor(async () =>
      expect((await dataItem()).textContent).toContain('2 unsent entries may be cleared by the browser'),
    );
  });
});
