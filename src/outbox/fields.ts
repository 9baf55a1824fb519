import * as v from 'valibot';

/** Field schemas every stream type and every wire message shares, so each boundary applies the same limits. */

export const MAX_TEXT = 200;

/** A UUID, as every id in commands, events and wire messages is. */
export const UuidSchema = v.pipe(v.string('Must be a text id'), v.uuid('Must be a UUID'));

/** An ISO 8601 timestamp, as every event time is. */
export const IsoTimestampSchema = v.pipe(v.string(), v.isoTimestamp('Must be an ISO 8601 timestamp'));

/** Text of at most 200 characters (`MAX_TEXT`). */
export const ShortTextSchema = v.pipe(v.string(), v.maxLength(MAX_TEXT, `At most ${MAX_TEXT} characters`));

/** Why a person did something (cancelled, discarded): trimmed, 1 to 200 characters. */
export const ReasonSchema = v.pipe(
  v.string('A reason is required'),
  v.trim(),
  v.minLength(1, 'A reason is required'),
  v.maxLength(MAX_TEXT, `A reason is at most ${MAX_TEXT} characters`),
);
