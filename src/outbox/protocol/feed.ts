import * as v from 'valibot';
import { IsoTimestampSchema, UuidSchema } from '../fields';
import { PROTOCOL_VERSION } from './limits';
import { StreamIdSchema } from './messages';

/**
 * The feed extension of protocol v1 (docs/protocol.md, "The feed"): what every device of a shop wrote, read
 * by cursor, plus the device routes. One schema per message, shared by the server that answers and the client
 * that checks. The envelope is checked here; an event's `type` and `data` are its stream type's, and a client
 * keeps what its build does not know (a newer device's event) rather than refusing the page, so this envelope
 * is looser than a push's: any `schemaVersion` from 1, any type name.
 */

/** Most events one feed page carries; the server's default page. */
export const MAX_FEED_EVENTS = 1_000;
export const DEFAULT_FEED_EVENTS = 500;
/** Most streams one history page carries; its events are whole streams, so the count is bounded too. */
export const MAX_HISTORY_STREAMS = 500;
export const DEFAULT_HISTORY_STREAMS = 100;
/** A history page stops adding streams once it holds this many events (the first stream always goes). */
export const MAX_HISTORY_EVENTS = 5_000;

/** Who a device is to a person: a name it was given, 1 to 60 characters. */
export const DeviceNameSchema = v.pipe(
  v.string('A device name is text'),
  v.trim(),
  v.minLength(1, 'A device name is required'),
  v.maxLength(60, 'A device name is at most 60 characters'),
);

const Version = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
const TypeName = v.pipe(v.string(), v.minLength(1), v.maxLength(100));

const FeedMetadataSchema = v.object({
  commandId: UuidSchema,
  correlationId: UuidSchema,
  causationId: v.nullable(UuidSchema),
  occurredAt: IsoTimestampSchema,
  clientId: UuidSchema,
});

/** A client event as the feed carries it: a push's envelope, tagged, any event version. */
export const FeedClientEventSchema = v.object({
  kind: v.literal('client'),
  eventId: UuidSchema,
  streamId: StreamIdSchema,
  version: Version,
  type: TypeName,
  schemaVersion: Version,
  data: v.unknown(),
  metadata: FeedMetadataSchema,
});
export type FeedClientEvent = v.InferOutput<typeof FeedClientEventSchema>;

/** A server decision as the feed carries it. */
export const FeedServerEventSchema = v.object({
  kind: v.literal('server'),
  eventId: UuidSchema,
  streamId: StreamIdSchema,
  serverSeq: Version,
  type: TypeName,
  data: v.unknown(),
  occurredAt: IsoTimestampSchema,
});
export type FeedServerEvent = v.InferOutput<typeof FeedServerEventSchema>;

export const FeedEventSchema = v.variant('kind', [FeedClientEventSchema, FeedServerEventSchema]);
export type FeedEvent = v.InferOutput<typeof FeedEventSchema>;

/** Who wrote with a clientId: its user (null: nobody signed in) and the name its device goes by (null: none). */
export const AuthorSchema = v.object({
  user: v.nullable(v.string()),
  device: v.nullable(v.string()),
});
export type Author = v.InferOutput<typeof AuthorSchema>;

const AuthorsSchema = v.record(UuidSchema, AuthorSchema);

/** `GET {base}/feed`: the events after `since`, in the server's commit order. */
export const FeedPageSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  events: v.pipe(v.array(FeedEventSchema), v.maxLength(MAX_FEED_EVENTS)),
  cursor: v.pipe(v.string(), v.minLength(1)),
  hasMore: v.boolean(),
  /** The author of every clientId that wrote a client event of the page. */
  authors: AuthorsSchema,
});
export type FeedPage = v.InferOutput<typeof FeedPageSchema>;

/**
 * `GET {base}/feed/history`: whole streams, newest first, as they stood at `head` (the feed's place when the
 * first page was read); a new device reads these, then the feed from `head`.
 */
export const HistoryPageSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  head: v.pipe(v.string(), v.minLength(1)),
  /** Each stream's events in commit order, the streams one after another, newest stream first. */
  events: v.array(FeedEventSchema),
  /** How many streams the page holds. */
  streams: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  /** Where the next page starts; null once the oldest stream was sent. */
  before: v.nullable(v.pipe(v.string(), v.minLength(1))),
  /** How many streams the history holds at `head`: on the first page only (null on later ones). */
  total: v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  authors: AuthorsSchema,
});
export type HistoryPage = v.InferOutput<typeof HistoryPageSchema>;

/** `POST {base}/device`: this device's clientId and the name people know it by. */
export const DeviceRequestSchema = v.object({
  clientId: UuidSchema,
  name: DeviceNameSchema,
});
export type DeviceRequest = v.InferOutput<typeof DeviceRequestSchema>;

/**
 * The answer: `previous` names the clientId this browser used before, when it had delivered events and this
 * clientId is new to the server: its database vanished since its last visit.
 */
export const DeviceResponseSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  previous: v.nullable(
    v.object({
      clientId: UuidSchema,
      device: v.nullable(v.string()),
      user: v.nullable(v.string()),
    }),
  ),
});
export type DeviceResponse = v.InferOutput<typeof DeviceResponseSchema>;

/** The live channel's one message: something after the client's place may be there to read. */
export const FeedPokeSchema = v.object({ cursor: v.string() });

/** The cookie that names the clientId a browser last registered, so a vanished database can be told apart. */
export const DEVICE_COOKIE = 'outpost_device';
