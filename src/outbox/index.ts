/**
 * The outbox core's public entry for stream types (plug-ins): everything a plug-in may use. A plug-in never
 * imports a file of the core directly; a lint rule (biome.json) holds both sides to it.
 */

export { IsoTimestampSchema, MAX_TEXT, ReasonSchema, ShortTextSchema, UuidSchema } from './fields';
export type { Clock, IdGenerator } from './ids';
export type { WireClientEvent, WireServerEvent } from './protocol/messages';
export { err, ok, type Result } from './result';
export type { DeferredStreamTypes, StreamLayout } from './stream-layout';
export {
  type AnyServerStreamType,
  type AnyStreamType,
  type ClientEventOf,
  type CounterIncrement,
  type CounterRow,
  type DomainCommand,
  DomainError,
  type DomainEvent,
  defineStreamType,
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
  withServerPolicy,
} from './stream-type';
export { createStreamTypes, type StreamTypes, splitStreamId, streamIdFor } from './stream-types';
export { type FieldIssue, toFieldIssues, ValidationError, validate } from './validation';
