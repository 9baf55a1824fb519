import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  type AnyStreamType,
  createStreamTypes,
  type DeferredStreamTypes,
  defineStreamType,
  StreamTypeError,
} from '../../src/outbox';
import { openOutboxDb, streamTypesOf } from '../../src/outbox/page/database';
import { note } from './support/note';
import { tally } from './support/tally';

/**
 * A stream type that breaks the contract is refused where it is defined, composed or opened, with a typed
 * error naming the stream type and the field: never as an aborted IndexedDB transaction at the first command.
 */

/** The note stream type with some of its parts replaced: what a developer might write by mistake. */
const noteWith = (parts: Record<string, unknown>) => ({ ...note, ...parts }) as unknown as AnyStreamType;

/** The error `run` throws, checked to be a StreamTypeError. */
function refusal(run: () => unknown): StreamTypeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamTypeError);
    return error as StreamTypeError;
  }
  throw new Error('expected a StreamTypeError, nothing was thrown');
}

const NoteEvents = v.variant('type', [
  v.strictObject({ type: v.literal('NoteWritten'), data: v.strictObject({ text: v.string() }) }),
  v.strictObject({ type: v.literal('NoteErased'), data: v.strictObject({}) }),
]);

describe('a stream type that breaks the contract', () => {
  it('is refused when two stream types of one app claim one read-model table', () => {
    const other = defineStreamType(noteWith({ name: 'memo', commands: tally.commands }));
    const error = refusal(() => createStreamTypes([note, other]));
    expect(error).toMatchObject({
      code: 'duplicate_table',
      streamType: 'memo',
      field: 'readModels.tables.notes',
    });
    expect(error.message).toContain('note declares this table already');
  });

  it('is refused when two stream types claim one command type', () => {
    const other = defineStreamType(noteWith({ name: 'memo', readModels: { tables: {}, rows: () => ({}) } }));
    const error = refusal(() => createStreamTypes([note, other]));
    expect(error).toMatchObject({ code: 'duplicate_command', streamType: 'memo', field: 'commands' });
    expect(error.message).toContain('WriteNote');
  });

  it('is refused when a schema is missing', () => {
    expect(refusal(() => defineStreamType(noteWith({ serverEvents: undefined })))).toMatchObject({
      code: 'missing',
      streamType: 'note',
      field: 'serverEvents',
    });
    expect(
      refusal(() => defineStreamType(noteWith({ events: v.object({ type: v.string() }) }))),
    ).toMatchObject({
      code: 'not_a_variant',
      streamType: 'note',
      field: 'events',
    });
  });

  it('is refused when a read model names a table it did not declare', () => {
    const error = refusal(() =>
      defineStreamType(
        noteWith({
          readModels: {
            tables: { notes: '&id' },
            rows: (change: { id: string }) => ({ notes: { id: change.id }, noteWords: { id: change.id } }),
          },
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'undeclared_table', streamType: 'note', field: 'readModels.rows' });
    expect(error.message).toContain('noteWords');
  });

  it('is refused when a counter names a table it did not declare', () => {
    const error = refusal(() =>
      defineStreamType(
        noteWith({
          readModels: {
            tables: { notes: '&id' },
            rows: () => ({}),
            counters: () => [{ table: 'noteCounts', id: 'all', add: { written: 1 } }],
          },
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'undeclared_table', field: 'readModels.counters' });
  });

  it('is refused when evolve is not total for an event it declares', () => {
    const throwing = refusal(() =>
      defineStreamType(
        noteWith({
          events: NoteEvents,
          evolve: (state: unknown, event: { type: string; data: { text?: string } }) => {
            if (event.type === 'NoteWritten') return { text: event.data.text };
            if (event.type === 'NoteSeen') return state;
            throw new Error(`unknown event ${event.type}`);
          },
        }),
      ),
    );
    expect(throwing).toMatchObject({
      code: 'evolve_not_total',
      streamType: 'note',
      field: 'evolve(NoteErased)',
    });
    const forgetful = refusal(() =>
      defineStreamType(
        noteWith({
          evolve: (_state: unknown, event: { type: string; data: { text?: string } }) =>
            event.type === 'NoteWritten' ? { text: event.data.text } : undefined,
        }),
      ),
    );
    expect(forgetful).toMatchObject({ code: 'evolve_not_total', field: 'evolve(NoteSeen)' });
  });

  it('is refused by a name that cannot prefix a stream id, and by a table not keyed by id', () => {
    expect(refusal(() => defineStreamType(noteWith({ name: 'Notes-v2' })))).toMatchObject({
      code: 'bad_name',
      streamType: 'Notes-v2',
      field: 'name',
    });
    expect(
      refusal(() =>
        defineStreamType(noteWith({ readModels: { tables: { notes: 'id' }, rows: () => ({}) } })),
      ),
    ).toMatchObject({ code: 'table_not_keyed_by_id', field: 'readModels.tables.notes' });
  });

  it('is refused by a stream type built by hand, without defineStreamType, when the app is composed', () => {
    expect(refusal(() => createStreamTypes([noteWith({ decide: undefined })]))).toMatchObject({
      code: 'missing',
      field: 'decide',
    });
  });

  it('is refused when the database opens: the stream types loaded differ from the layouts it opened with', async () => {
    const deferred: DeferredStreamTypes = {
      layouts: [{ name: 'note', tables: { notes: '&id, text' } }],
      load: async () => createStreamTypes([note]),
    };
    const db = openOutboxDb({ name: `contract-${crypto.randomUUID()}`, streamTypes: deferred, version: 1 });
    try {
      const error = await streamTypesOf(db).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StreamTypeError);
      expect(error).toMatchObject({
        code: 'layout_mismatch',
        streamType: 'note',
        field: 'readModels.tables',
      });
    } finally {
      db.close();
    }
  });
});
