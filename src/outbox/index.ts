/**
 * The outbox core's entry for defining stream types (`@outpost/outbox`): what a stream type is made of and
 * what it may use, the same in a page, the service worker and a server. A plug-in imports nothing else of
 * the core; the layer rules (`npm run check`) hold both sides to it. Re-exports only.
 */

export { defineStreamType, withServerPolicy } from './define-stream-type';
export { IsoTimestampSchema, MAX_TEXT, ReasonSchema, ShortTextSchema, UuidSchema } from './fields';
export { type Clock, type IdGenerator, ManualClock, newId, systemClock, uuidv7Generator } from './ids';
export type { WireClientEvent, WireServerEvent } from './protocol/messages';
export { err, ok, type Result } from './result';
export type {
  DiscardFacts,
  RefusalCause,
  RefusalFacts,
  StoredClientEvent,
  StoredDiscardRecord,
  StoredEvent,
  StoredLocalEvent,
  StoredRefusalRecord,
  StoredServerEvent,
  StoredUnreadEvent,
} from './storage/rows';
export type { DeferredStreamTypes, StreamLayout } from './stream-layout';
export {
  type AnyStreamReactions,
  defineReactions,
  type Notification,
  type NotificationRecipient,
  type ReactionChange,
  type Reactions,
  type StreamReactions,
} from './stream-reactions';
export {
  type AnyServerStreamType,
  type AnyStreamType,
  type ClientEventOf,
  type CounterIncrement,
  type CounterRow,
  type DomainCommand,
  DomainError,
  type DomainEvent,
  type EventEnvelope,
  type ReadModelRow,
  type ReadModelRows,
  type ReadModels,
  type Retention,
  type ServerDecisionContext,
  type ServerEventOf,
  type ServerPolicy,
  type ServerStreamType,
  type StreamChange,
  type StreamType,
} from './stream-type';
export { StreamTypeError, type StreamTypeErrorCode } from './stream-type-errors';
export { createStreamTypes, type StreamTypes, splitStreamId, streamIdFor } from './stream-types';
export { type FieldIssue, toFieldIssues, ValidationError, validate } from './validation';
