import * as v from 'valibot';

/**
 * How long settled streams stay on the device: a whole number of days, or `null` to keep everything (the
 * default). One schema for what is stored and what is read back, so a value stored by another build that
 * breaks it reads as "keep everything", never as a shorter time.
 */
export const RetentionSettingSchema = v.strictObject({
  days: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3650))),
});
/** How many days settled streams stay on the device (`days`), or null to keep everything. */
export type RetentionSetting = v.InferOutput<typeof RetentionSettingSchema>;

export const KEEP_EVERYTHING: RetentionSetting = { days: null };

/** The setting's bad values, refused before anything is written. */
export class RetentionSettingError extends Error {
  readonly code = 'invalid_retention' as const;
  constructor(readonly days: unknown) {
    super(`Keep settled records for a whole number of days from 1 to 3650, or for ever; not ${String(days)}`);
    this.name = 'RetentionSettingError';
  }
}
