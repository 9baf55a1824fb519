import * as v from 'valibot';
import { createStreamTypes, defineStreamType, ok, UuidSchema, withServerPolicy } from '../../../src/outbox';
import { tally, tallyOnServer } from './tally';

/**
 * A second test-only stream type: a note written once. Used where the suite needs two types side by side
 * (one lane per stream whatever its type; a server that serves only one of them).
 */
const Commands = v.variant('type', [
  v.strictObject({
    type: v.literal('WriteNote'),
    noteId: UuidSchema,
    text: v.pipe(v.string(), v.maxLength(80)),
  }),
]);
type NoteCommand = v.InferOutput<typeof Commands>;
const Events = v.variant('type', [
  v.strictObject({ type: v.literal('NoteWritten'), data: v.strictObject({ text: v.string() }) }),
]);
type NoteEvent = v.InferOutput<typeof Events>;
type NoteState = { readonly text: string | null };

export const note = defineStreamType({
  name: 'note',
  commands: Commands,
  idOf: (command: NoteCommand) => command.noteId,
  events: Events,
  serverEvents: v.variant('type', [
    v.strictObject({ type: v.literal('NoteSeen'), data: v.strictObject({}) }),
  ]),
  initialState: { text: null } as NoteState,
  decide: (command: NoteCommand, state: NoteState) =>
    ok(state.text === null ? [{ type: 'NoteWritten' as const, data: { text: command.text } }] : []),
  evolve: (state: NoteState, event: NoteEvent | { type: 'NoteSeen'; data: Record<string, never> }) =>
    event.type === 'NoteWritten' ? { text: event.data.text } : state,
  readModels: {
    tables: { notes: '&id' },
    rows: (change) =>
      change.after.text === null ? {} : { notes: { id: change.id, text: change.after.text } },
  },
});

export const tallyAndNoteTypes = createStreamTypes([tally, note]);
/** A server that serves both, accepting every note as it is. */
export const tallyAndNoteServerTypes = createStreamTypes([
  tallyOnServer,
  withServerPolicy(note, { breach: () => null, decide: () => [] }),
]);
