import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { streamIdOf } from '../../src/orders/stream-ids';
import { App } from '../../src/ui/app';
import { type InProcessUsersServer, inProcessUsersServer } from '../server/support/in-process-auth';
import { createTestOutpost, seedOrder, type TestOutpost } from './support/test-outpost';

/**
 * Signing in from the status bar, on the real composition root, against the core's `AUTH=users` server in
 * this process (the same handlers as the Node app). The browser's cookie jar is played by `withCookies`.
 * Nobody presses "Sync now": after a sign-in, delivery resumes by itself.
 */

let outpost: TestOutpost;
let server: InProcessUsersServer;

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

/**
 * The browser's part: a session after each successful login, sent with every request until logout. happy-dom
 * hides `Set-Cookie` from script as browsers do, so the session travels as the device token the server
 * issued for the user the login named: the server still checks every request's credentials itself. The
 * cookie itself (flags, expiry, same-origin requests from the worker) is tested in real Chromium
 * (test/browser/sign-in.test.ts) and on the real server (test/server).
 */
function withSession(handle: (request: Request) => Promise<Response>) {
  let session: string | null = null;
  return async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const headers = new Headers(request.headers);
    if (session !== null) headers.set('authorization', `Bearer ${session}`);
    const login =
      path === '/api/auth/login' ? ((await request.clone().json()) as { username: string }) : null;
    const response = await handle(new Request(request, { headers }));
    if (login && response.status === 204) {
      const token = await server.admin.issueDeviceToken(login.username.toLowerCase());
      if (!token.ok) throw new Error(`no token for ${login.username}`);
      session = token.token;
    }
    if (path === '/api/auth/logout' && response.status === 204) session = null;
    return response;
  };
}

/** While true, the sync routes cannot be reached (sign-in still can): a failing link to the sync service. */
let syncDown = false;

async function start() {
  syncDown = false;
  server = inProcessUsersServer();
  for (const [name, password] of [
    ['alice', 'alice-password'],
    ['bob', 'bob-password'],
  ] as const) {
    const added = await server.admin.addUser(name, async () => password);
    if (!added.ok) throw new Error(`could not add ${name}`);
  }
  const backend = withSession(async (request) => {
    if (syncDown && new URL(request.url).pathname.startsWith('/api/sync/'))
      throw new TypeError('Failed to fetch');
    return server.fetch(request);
  });
  outpost = await createTestOutpost({ online: true, backend });
  window.location.hash = '#/orders';
  render(<App outpost={outpost} ids={outpost.ids} />);
  return userEvent.setup();
}

const statusBar = () => screen.getByRole('region', { name: 'Sync status' });
const owner = (orderId: string) =>
  server.storage.read(
    async (reader) => (await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.owner,
  );
const storedOnServer = (orderId: string) =>
  server.storage.read(
    async (reader) => (await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.events.length,
  );

async function signInThroughDialog(user: ReturnType<typeof userEvent.setup>, name: string, password: string) {
  const dialog = await screen.findByRole('dialog', { name: /^Sign in( to send)?$/ });
  const username = within(dialog).getByLabelText('Username');
  await user.clear(username);
  await user.type(username, name);
  await user.type(within(dialog).getByLabelText('Password'), password);
  await user.click(within(dialog).getByRole('button', { name: 'Sign in' }));
  return dialog;
}

describe('sign-in from the status bar', () => {
  it('asks for a sign-in when the server says 401, and sends everything once the person signed in', async () => {
    const user = await start();
    const first = await seedOrder(outpost, 'Harbour Café');
    const second = await seedOrder(outpost, 'Lighthouse Inn');

    const prompt = await within(statusBar()).findByRole('button', { name: 'Sign in to send 2 orders' });
    expect(within(statusBar()).getByText(/Sign-in required: sync paused, nothing is lost/)).toBeTruthy();
    await user.click(prompt);

    // A wrong password: said next to the field, nothing sent, the dialog stays.
    let dialog = await signInThroughDialog(user, 'alice', 'not-her-password');
    expect(await within(dialog).findByText('Wrong username or password')).toBeTruthy();
    expect(within(dialog).getByLabelText('Password').getAttribute('aria-invalid')).toBe('true');
    expect(await storedOnServer(first)).toBe(0);

    // "Alice" as a phone capitalises it: the server's name for her is alice.
    await user.clear(within(dialog).getByLabelText('Password'));
    dialog = await signInThroughDialog(user, 'Alice', 'alice-password');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    await waitFor(async () => {
      expect([await storedOnServer(first), await storedOnServer(second)]).toEqual([1, 1]);
    });
    expect([await owner(first), await owner(second)]).toEqual(['alice', 'alice']);
    await waitFor(() => expect(within(statusBar()).getByText(/Up to date/)).toBeTruthy());
    expect(within(statusBar()).getByText('alice')).toBeTruthy();
    expect(outpost.syncNow).not.toHaveBeenCalled();
  });

  it('says when to try again after too many failed sign-ins', async () => {
    const user = await start();
    await seedOrder(outpost, 'Harbour Café');
    await user.click(await within(statusBar()).findByRole('button', { name: 'Sign in to send 1 order' }));
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const dialog = await signInThroughDialog(user, 'alice', `wrong-${attempt}`);
      await within(dialog).findByText('Wrong username or password');
      await user.clear(within(dialog).getByLabelText('Password'));
    }
    const dialog = await signInThroughDialog(user, 'alice', 'alice-password');
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(
      /^Too many failed sign-ins\. Try again at \d\d:\d\d:\d\d \(in \d+ s\)\.$/,
    );
  });

  it("signing out and in as someone else keeps the first user's unsent orders on the device, waiting for her", async () => {
    const user = await start();
    const delivered = await seedOrder(outpost, 'Harbour Café');
    await user.click(await within(statusBar()).findByRole('button', { name: 'Sign in to send 1 order' }));
    await signInThroughDialog(user, 'alice', 'alice-password');
    await waitFor(async () => expect(await storedOnServer(delivered)).toBe(1));

    // Alice's next order is taken while the sync service cannot be reached, and she signs out before it went.
    syncDown = true;
    const hers = await seedOrder(outpost, 'Lighthouse Inn');
    await waitFor(() => expect(within(statusBar()).getByText(/Server unreachable/)).toBeTruthy());
    await user.click(within(statusBar()).getByRole('button', { name: 'Sign out' }));
    // Nobody signed in, and the device knows this server has sign-in: the way back in stays on screen.
    await user.click(await within(statusBar()).findByRole('button', { name: 'Sign in' }));
    await signInThroughDialog(user, 'bob', 'bob-password');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    syncDown = false;

    const his = await seedOrder(outpost, 'Quayside Deli');
    await waitFor(async () => expect(await storedOnServer(his)).toBe(1));
    expect(await owner(his)).toBe('bob');
    expect(await storedOnServer(hers)).toBe(0);
    await waitFor(() =>
      expect(within(statusBar()).getByText(/Up to date; 1 entry waits for alice to sign in/)).toBeTruthy(),
    );
    window.location.hash = `#/orders/${hers}`;
    expect(await screen.findByText('Saved on device — waits for alice to sign in')).toBeTruthy();

    // Alice back: hers goes, once, as hers.
    await user.click(within(statusBar()).getByRole('button', { name: 'Sign out' }));
    await user.click(await within(statusBar()).findByRole('button', { name: 'Sign in' }));
    await signInThroughDialog(user, 'alice', 'alice-password');
    await waitFor(async () => expect(await storedOnServer(hers)).toBe(1));
    expect(await owner(hers)).toBe('alice');
  });

  it('refuses to sign out while the server cannot say so, and changes nothing', async () => {
    const user = await start();
    await seedOrder(outpost, 'Harbour Café');
    await user.click(await within(statusBar()).findByRole('button', { name: 'Sign in to send 1 order' }));
    await signInThroughDialog(user, 'alice', 'alice-password');
    await within(statusBar()).findByRole('button', { name: 'Sign out' });
    const realFetch = server.fetch;
    server.fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await user.click(within(statusBar()).getByRole('button', { name: 'Sign out' }));
    expect((await within(statusBar()).findByRole('alert')).textContent).toMatch(/^Not signed out: /);
    expect(within(statusBar()).getByText('alice')).toBeTruthy();
    server.fetch = realFetch;
  });
});
