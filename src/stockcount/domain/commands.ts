import * as v from 'valibot';
import { type Result, type ValidationError, validate } from '../../outbox';
import { CountedQuantitySchema, LocationSchema, ReasonSchema, SkuSchema, UuidSchema } from './fields';

export const StartCountSchema = v.strictObject({
  type: v.literal('StartCount'),
  countId: UuidSchema,
  location: LocationSchema,
});

/** Sets the counted quantity of a sku: a recount replaces the earlier figure, it never adds to it. */
export const RecordQuantitySchema = v.strictObject({
  type: v.literal('RecordQuantity'),
  countId: UuidSchema,
  sku: SkuSchema,
  quantity: CountedQuantitySchema,
});

/**
 * Adds `quantity` units to the sku's line (a new line starts at it): what a person counting shelf by shelf
 * does, one scan per unit or a typed figure per shelf. Never satisfied by its content, so a repeat is told
 * by its commandId (the pipeline answers a repeated id with its first result); decided again on another
 * device's figure, it adds to that figure, where a replacing figure computed on this screen would erase it.
 */
export const AddCountedSchema = v.strictObject({
  type: v.literal('AddCounted'),
  countId: UuidSchema,
  sku: SkuSchema,
  quantity: CountedQuantitySchema,
});

export const RemoveLineSchema = v.strictObject({
  type: v.literal('RemoveLine'),
  countId: UuidSchema,
  sku: SkuSchema,
});

export const SubmitCountSchema = v.strictObject({ type: v.literal('SubmitCount'), countId: UuidSchema });

export const AbandonCountSchema = v.strictObject({
  type: v.literal('AbandonCount'),
  countId: UuidSchema,
  reason: ReasonSchema,
});

export const CommandSchema = v.variant(
  'type',
  [
    StartCountSchema,
    RecordQuantitySchema,
    AddCountedSchema,
    RemoveLineSchema,
    SubmitCountSchema,
    AbandonCountSchema,
  ],
  (issue) =>
    `Unknown command type ${JSON.stringify(issue.received === 'undefined' ? undefined : issue.input)}`,
);

export type StartCount = v.InferOutput<typeof StartCountSchema>;
export type RecordQuantity = v.InferOutput<typeof RecordQuantitySchema>;
export type AddCounted = v.InferOutput<typeof AddCountedSchema>;
export type RemoveLine = v.InferOutput<typeof RemoveLineSchema>;
export type SubmitCount = v.InferOutput<typeof SubmitCountSchema>;
export type AbandonCount = v.InferOutput<typeof AbandonCountSchema>;
export type StockCountCommand = v.InferOutput<typeof CommandSchema>;
export type StockCountCommandType = StockCountCommand['type'];

/** The boundary check for anything that claims to be a count command: a typed command or field issues. */
export const parseCommand = (input: unknown): Result<StockCountCommand, ValidationError> =>
  validate(CommandSchema, input);
