import { defineStreamType, ok, ShortTextSchema, UuidSchema, withServerPolicy } from '@outpost/outbox';
import * as v from 'valibot';

/** A guest book: each entry is a stream (`guestbook-<uuid>`), signed once, then published by the server. */
const Commands = v.variant('type', [
  v.strictObject({
    type: v.literal('Sign'),
    entryId: UuidSchema,
    name: ShortTextSchema,
    message: ShortTextSchema,
  }),
]);
const Events = v.variant('type', [
  v.strictObject({
    type: v.literal('Signed'),
    data: v.strictObject({ name: v.string(), message: v.string() }),
  }),
]);
const ServerEvents = v.variant('type', [
  v.strictObject({ type: v.literal('Published'), data: v.strictObject({}) }),
]);
type Sign = v.InferOutput<typeof Commands>;
type Event = v.InferOutput<typeof Events> | v.InferOutput<typeof ServerEvents>;
type Entry = { readonly name: string; readonly message: string; readonly published: boolean } | null;

export const guestbook = defineStreamType({
  name: 'guestbook',
  commands: Commands,
  idOf: (command: Sign) => command.entryId,
  events: Events,
  serverEvents: ServerEvents,
  initialState: null as Entry,
  decide: (command: Sign, entry: Entry) =>
    ok(entry ? [] : [{ type: 'Signed' as const, data: { name: command.name, message: command.message } }]),
  evolve: (entry: Entry, event: Event): Entry =>
    event.type === 'Signed' ? { ...event.data, published: false } : entry && { ...entry, published: true },
  readModels: {
    tables: { entries: '&id' },
    rows: (change) => ({ entries: change.after && { id: change.id, ...change.after } }),
  },
});

/** The server accepts every entry and publishes it. */
export const guestbookOnServer = withServerPolicy(guestbook, {
  breach: () => null,
  decide: () => [{ type: 'Published' as const, data: {} }],
});
