import * as v from 'valibot';
import { err, ok, type Result } from './result';

/** One refused field: `path` is the dotted path into the input ("quantity", "data.sku"), empty for the root. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Input refused at a boundary: nothing was written. */
export class ValidationError extends Error {
  readonly code = 'validation_failed' as const;
  constructor(readonly issues: readonly FieldIssue[]) {
    super(issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; '));
    this.name = 'ValidationError';
  }

  /** Messages keyed by field path, the shape a form wants to render next to its fields. */
  byField(): Readonly<Record<string, string>> {
    const fields: Record<string, string> = {};
    for (const issue of this.issues) fields[issue.path] ??= issue.message;
    return fields;
  }
}

/** Valibot's issues as field issues: a dotted path and a plain message each. */
export function toFieldIssues(issues: readonly v.BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? '';
    // Valibot reports an absent key as 'Invalid key: Expected "name" but received undefined'; say it plainly.
    const missing =
      path !== '' &&
      issue.kind === 'schema' &&
      issue.received === 'undefined' &&
      issue.expected?.startsWith('"');
    return { path, message: missing ? `${path} is required` : issue.message };
  });
}

/** Runs a schema and turns its issues into a typed, field-level refusal. */
export function validate<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): Result<v.InferOutput<S>, ValidationError> {
  const parsed = v.safeParse(schema, input, { abortPipeEarly: true });
  return parsed.success ? ok(parsed.output) : err(new ValidationError(toFieldIssues(parsed.issues)));
}
