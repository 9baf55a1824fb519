/** Why a stream type breaks the contract the core relies on (`stream-type.ts`, docs/library.md). */
export type StreamTypeErrorCode =
  /** The name is not lowercase letters and digits starting with a letter. */
  | 'bad_name'
  /** A required part is missing or is not what it must be (a schema, a function). */
  | 'missing'
  /** `commands`, `events` or `serverEvents` is not `v.variant('type', [...])` of objects with a literal `type`. */
  | 'not_a_variant'
  /** A read-model table's index spec does not start with `&id`. */
  | 'table_not_keyed_by_id'
  /** Two stream types of one app share a name, a command type or a read-model table. */
  | 'duplicate_name'
  | 'duplicate_command'
  | 'duplicate_table'
  /** `readModels.rows` or `counters` names a table the stream type did not declare. */
  | 'undeclared_table'
  /** `evolve` throws or returns nothing for an event its schemas declare. */
  | 'evolve_not_total'
  /** `readModels.rows` or `counters` throws for an event its schemas declare. */
  | 'read_model_not_total'
  /** The stream types loaded for a database are not the ones its layouts promised. */
  | 'layout_mismatch';

/**
 * A stream type that breaks the contract, found where it is defined (`defineStreamType`) or where an app is
 * composed or its database opened (`createStreamTypes`, `openOutboxDb`): never later, as an aborted
 * transaction at the first command. Names the stream type and the field at fault.
 */
export class StreamTypeError extends TypeError {
  override readonly name = 'StreamTypeError';
  constructor(
    readonly code: StreamTypeErrorCode,
    /** The stream type's name (as given, even when it is the name that is wrong). */
    readonly streamType: string,
    /** The field at fault: `name`, `events`, `readModels.tables.orders`, `evolve(OrderCreated)`, … */
    readonly field: string,
    message: string,
  ) {
    super(`Stream type ${JSON.stringify(streamType)}, ${field}: ${message}`);
  }
}
