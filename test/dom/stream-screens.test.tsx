import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredServerEvent } from '../../src/outbox/page';
import { App } from '../../src/ui/app';
import { streamScreens } from '../../src/ui/stream-screens';
import { createStreamScreens, type StreamScreen } from '../../src/ui/stream-ui';
import { createTestOutpost, type TestOutpost } from './support/test-outpost';

/**
 * A third stream type brings its own UI as one value: the test-only note (test/core/support/note.ts) gets
 * routes, a screen, a navigation entry, a noun and the words for its server decisions, and the app shows
 * them with nothing else of the UI changed (docs/library.md, "A third stream type in this app").
 */

const NOTE_ID = '0190a5f2-0000-7000-8000-00000000abcd';

function NoteScreen({ noteId }: { readonly noteId: string }) {
  return <h1>Note {noteId}</h1>;
}

const noteScreens: StreamScreen = {
  name: 'note',
  noun: 'note',
  href: (noteId) => `#/notes/${noteId}`,
  nav: [{ href: '#/notes', label: 'Notes' }],
  screen(hash) {
    if (hash === '#/notes') return { element: <h1>Notes</h1>, nav: '#/notes' };
    const noteId = hash.startsWith('#/notes/') ? hash.slice('#/notes/'.length) : null;
    return noteId ? { element: <NoteScreen noteId={noteId} />, nav: '#/notes' } : null;
  },
  notice: async (event) =>
    event.type === 'NoteSeen'
      ? {
          tone: 'success',
          title: 'Note seen',
          body: 'The server has read your note.',
          linkLabel: 'Open note',
        }
      : null,
};

const withNotes = createStreamScreens([...streamScreens.all, noteScreens]);

let outpost: TestOutpost;

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('a third stream type in the app', () => {
  it('is listed in the navigation and routed to its own screen', async () => {
    outpost = await createTestOutpost();
    window.location.hash = `#/notes/${NOTE_ID}`;
    render(<App outpost={outpost} ids={outpost.ids} streams={withNotes} />);
    expect(await screen.findByRole('heading', { level: 1, name: `Note ${NOTE_ID}` })).toBeDefined();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Notes' }).getAttribute('aria-current')).toBe('page');
    // The links' accessible names, in order (a phone's short label is hidden from assistive technology).
    const names = ['Orders', 'New order', 'Insights', 'Stock counts', 'Notes', 'Outbox'];
    const links = within(nav).getAllByRole('link');
    expect(links).toHaveLength(names.length);
    names.forEach((name, index) => {
      expect(within(nav).getByRole('link', { name })).toBe(links[index]);
    });
  });

  it("announces the server's decision on a note in its own words, linked to the note", async () => {
    outpost = await createTestOutpost();
    render(<App outpost={outpost} ids={outpost.ids} streams={withNotes} />);
    await screen.findByRole('heading', { level: 1, name: 'Orders' });
    const decision: StoredServerEvent = {
      kind: 'server',
      eventId: '0190a5f2-0000-7000-8000-0000000000e1',
      streamId: `note-${NOTE_ID}`,
      serverSeq: 1,
      schemaVersion: 1,
      type: 'NoteSeen',
      data: {},
      occurredAt: '2026-11-26T12:00:00.000Z',
    };
    act(() => outpost.bus.publish([decision]));
    const region = await waitFor(() => {
      const live = screen
        .getAllByRole('status')
        .find((element) => element.textContent?.includes('Note seen'));
      expect(live).toBeDefined();
      return live as HTMLElement;
    });
    expect(region.textContent).toContain('The server has read your note.');
    expect(within(region).getByRole('link', { name: 'Open note' }).getAttribute('href')).toBe(
      `#/notes/${NOTE_ID}`,
    );
  });

  it('names and counts its streams in the sentences the app builds', () => {
    expect(withNotes.nounOfStream(`note-${NOTE_ID}`)).toBe('note');
    expect(withNotes.hrefOfStream(`note-${NOTE_ID}`)).toBe(`#/notes/${NOTE_ID}`);
    expect(withNotes.streamCountText({ order: 3, note: 1 })).toBe('3 orders and 1 note');
  });
});
