/** Why a request to the sync server did not produce a usable answer. Codes are stable: the UI matches on them. */
export type SyncFailureCode =
  | 'offline'
  | 'timeout'
  | 'server_error'
  | 'overloaded'
  | 'invalid_response'
  | 'auth_required'
  /** `403 client_id_taken`: the clientId pushed under belongs to another user on the server. */
  | 'client_id_taken'
  | 'bad_request'
  | 'too_large';

/** A pull (or push) that failed; `retryAfterMs` is set when the server named a wait. */
export class SyncRequestError extends Error {
  constructor(
    readonly code: SyncFailureCode,
    message: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'SyncRequestError';
  }
}

/** Why a dead-letter action changed nothing: the entry is not dead (any more), or a later one is in flight. */
export type DeadLetterErrorCode = 'dead_letter_not_found' | 'dead_letter_in_flight';

/** A dead-letter action named an entry that is not (or no longer) dead: nothing was changed. */
export class DeadLetterError extends Error {
  constructor(
    readonly code: DeadLetterErrorCode,
    readonly eventId: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}
