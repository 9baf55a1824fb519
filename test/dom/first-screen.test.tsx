import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NotificationService, Toast } from '../../src/subscribers/notifications';
import { App } from '../../src/ui/app';
import { TOAST_MS } from '../../src/ui/components/toast-lines';
import { OutpostProvider } from '../../src/ui/outpost-context';
import { streamScreens } from '../../src/ui/stream-screens';
import { Toasts } from '../../src/ui/toasts';
import { createTestOutpost, type TestOutpost } from './support/test-outpost';

/**
 * Issue 23, item 5: the status is one line that opens onto the rest, and decisions are a line of the page
 * that collapses and goes by itself, never held by a pointer resting on it.
 */

let outpost: TestOutpost;

afterEach(async () => {
  cleanup();
  vi.useRealTimers();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('the status line', () => {
  it('shows online, unsent and the sync phase, and opens onto the server, what drives sync and storage', async () => {
    outpost = await createTestOutpost();
    window.location.hash = '#/orders';
    render(<App outpost={outpost} ids={outpost.ids} />);
    const bar = screen.getByRole('region', { name: 'Sync status' });
    const toggle = within(bar).getByRole('button', { name: 'Details of sync status' });
    const details = document.getElementById(toggle.getAttribute('aria-controls') ?? '') as HTMLElement;
    expect(within(bar).getByText('Offline')).toBeTruthy();
    expect(within(bar).getByText('Unsent').parentElement?.textContent).toBe('Unsent 0');
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(details.hidden).toBe(true);
    await waitFor(() => expect(details.textContent).toContain('Driven by Fallback timer'));

    await userEvent.setup().click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(details.hidden).toBe(false);
  });
});

function toast(n: number): Toast {
  return {
    id: `toast-${n}`,
    tone: n === 2 ? 'error' : 'success',
    title: n === 2 ? 'Order rejected' : `Order SO-00000${n} confirmed`,
    body: `Customer ${n}'s order was decided.`,
    href: `#/orders/${n}`,
    linkLabel: 'Open order',
  };
}

async function renderToasts(shown: readonly Toast[]) {
  outpost = await createTestOutpost();
  const toasts$ = new BehaviorSubject<readonly Toast[]>(shown);
  const notifications: NotificationService = {
    toasts$,
    dismiss: (id) => toasts$.next(toasts$.value.filter((candidate) => candidate.id !== id)),
    stop: () => undefined,
  };
  render(
    <OutpostProvider value={{ outpost, ids: outpost.ids, notifications, streams: streamScreens }}>
      <Toasts />
    </OutpostProvider>,
  );
  return { toasts$, region: screen.getByRole('status') };
}

describe('toasts', () => {
  it('collapse into one line: the newest, and the others behind "N more"', async () => {
    const { region } = await renderToasts([toast(1), toast(2), toast(3)]);
    await within(region).findByRole('button', { name: /^Dismiss/ });
    const visible = () => within(region).queryAllByRole('button', { name: /^Dismiss/ }).length;
    expect(visible()).toBe(1);
    expect(within(region).getByRole('button', { name: /^Dismiss/ }).textContent).toBe(
      'Dismiss Order SO-000003 confirmed',
    );
    const more = within(region).getByRole('button', { name: '2 more decisions' });
    expect(more.getAttribute('aria-expanded')).toBe('false');

    await userEvent.setup().click(more);
    expect(visible()).toBe(3);
    expect(within(region).getByRole('button', { name: 'Dismiss Order rejected' })).toBeTruthy();
  });

  it('keep their line on the screen once shown, so decisions coming and going do not move the page', async () => {
    window.location.hash = '#/orders';
    const { toasts$, region } = await renderToasts([]);
    const height = () => region.className.includes('toasts--shown');
    expect(height()).toBe(false);
    act(() => toasts$.next([toast(1)]));
    await within(region).findByRole('button', { name: /^Dismiss/ });
    expect(height()).toBe(true);
    act(() => toasts$.next([]));
    expect(height()).toBe(true);
    act(() => {
      window.location.hash = '#/new';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(height()).toBe(false);
  });

  it('go after their time with the pointer resting on them, and stay while the keyboard is in them', async () => {
    const { toasts$, region } = await renderToasts([toast(0)]);
    // Drawn by a chunk of their own: loaded once, before the clock is faked.
    await within(region).findByRole('button', { name: /^Dismiss/ });
    act(() => toasts$.next([]));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    await act(async () => toasts$.next([toast(1)]));
    expect(within(region).getByRole('button', { name: 'Dismiss Order SO-000001 confirmed' })).toBeTruthy();
    fireEvent.mouseEnter(region.firstElementChild as Element);
    fireEvent.mouseOver(region.firstElementChild as Element);
    act(() => vi.advanceTimersByTime(TOAST_MS + 10));
    expect(toasts$.value).toEqual([]);

    act(() => toasts$.next([toast(3)]));
    act(() => within(region).getByRole('link', { name: 'Open order' }).focus());
    act(() => vi.advanceTimersByTime(TOAST_MS * 3));
    expect(toasts$.value).toEqual([toast(3)]);
    act(() => (document.activeElement as HTMLElement).blur());
    act(() => vi.advanceTimersByTime(TOAST_MS * 3 + 10));
    expect(toasts$.value).toEqual([]);
  });
});
