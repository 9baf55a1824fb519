import { createStreamTypes, systemClock, uuidv7Generator } from '@outpost/outbox';
import { createMockBackend } from '@outpost/outbox/mock';
import { liveRead, openOutbox, readDeliveryViews, readModelTable } from '@outpost/outbox/page';
import { guestbook, guestbookOnServer } from './guestbook';

// The sync server, mocked inside the page: it fails like the network while the browser is offline.
const mock = createMockBackend({
  streamTypes: createStreamTypes([guestbookOnServer]),
  clock: systemClock,
  ids: uuidv7Generator(),
  online: () => navigator.onLine,
});
const outbox = await openOutbox({
  database: { name: 'guestbook', streamTypes: createStreamTypes([guestbook]), version: 1 },
  endpoint: `${location.origin}/api/sync`,
  transport: (input, init) => mock.fetch(new Request(input, init)),
});
Object.assign(window, { mock, outbox });

const element = (id: string) => document.getElementById(id) as HTMLElement;
outbox.status$.subscribe((status) => {
  element('status').textContent = `${status.phase}: ${status.pending + status.inflight} waiting`;
});

type Row = { id: string; name: string; message: string; published: boolean };
liveRead(
  outbox.db,
  async () => {
    const rows = await readModelTable<Row>(outbox.db, 'entries').toArray();
    const views = await readDeliveryViews(
      outbox.db,
      rows.map((row) => `guestbook-${row.id}`),
      Date.now(),
    );
    return rows.map((row, index) => ({ ...row, state: views.deliveries[index]?.state }));
  },
  {
    next: (rows) =>
      element('entries').replaceChildren(
        ...rows.map((row) => {
          const item = document.createElement('li');
          item.textContent = `${row.name}: ${row.message} (${row.published ? 'published' : row.state})`;
          return item;
        }),
      ),
    error: (error) => console.error(error),
  },
);

element('sign').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const command = {
    type: 'Sign',
    entryId: crypto.randomUUID(),
    name: form.get('name'),
    message: form.get('message'),
  };
  const result = await outbox.execute({ command });
  element('error').textContent = result.ok ? '' : result.error.message;
  if (result.ok) (event.target as HTMLFormElement).reset();
});
