import type { CommandError } from '../outbox/client/errors';
import { DomainError } from '../outbox/stream-type';
import { ValidationError } from '../outbox/validation';

/** A refused command as a form shows it: messages next to fields, and one for the form as a whole. */
export interface CommandFeedback {
  readonly fields: Readonly<Record<string, string>>;
  readonly message: string | null;
}

export const noFeedback: CommandFeedback = { fields: {}, message: null };

export function feedbackOf(error: CommandError, knownFields: readonly string[]): CommandFeedback {
  const fields: Record<string, string> = {};
  let message: string | null = null;
  // A control with no fields of its own (a button) shows the refusal whole, every field's part included.
  if (error instanceof ValidationError && knownFields.length > 0) {
    for (const [path, text] of Object.entries(error.byField())) {
      if (knownFields.includes(path)) fields[path] = text;
      else message ??= text;
    }
  } else if (error instanceof DomainError && error.field && knownFields.includes(error.field)) {
    fields[error.field] = error.message;
  } else {
    message = error.message;
  }
  return { fields, message };
}
