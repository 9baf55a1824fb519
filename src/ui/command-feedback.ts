import { DomainError, ValidationError } from '../outbox';
import type { CommandError } from '../outbox/page';

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

/**
 * A command that never reached the write side (its code failed to load: a chunk lost to a bad connection).
 * Said without the store's error classes, which load with the write side, after the first screen.
 */
export function unsavedFeedback(error: unknown): CommandFeedback {
  const detail = error instanceof Error ? error.message : String(error);
  return {
    fields: {},
    message: `Nothing was saved: the app could not get ready to save (${detail}). Try again.`,
  };
}

export const hasFeedback = (feedback: CommandFeedback): boolean =>
  feedback.message !== null || Object.keys(feedback.fields).length > 0;

/**
 * Two refusals shown together, the earlier first: in a burst of submits a later refusal must not hide an
 * earlier one the person has not read yet.
 */
export function mergeFeedback(earlier: CommandFeedback, later: CommandFeedback): CommandFeedback {
  const fields: Record<string, string> = { ...earlier.fields };
  for (const [field, text] of Object.entries(later.fields)) fields[field] = joinMessages(fields[field], text);
  return { fields, message: joinMessages(earlier.message, later.message) };
}

function joinMessages(earlier: string | null | undefined, later: string): string;
function joinMessages(earlier: string | null | undefined, later: string | null): string | null;
function joinMessages(earlier: string | null | undefined, later: string | null): string | null {
  if (!earlier) return later;
  // The same refusal twice (two bad submits alike) reads once.
  if (!later || earlier.includes(later)) return earlier;
  return `${/[.!?]$/.test(earlier) ? earlier : `${earlier}.`} ${later}`;
}
