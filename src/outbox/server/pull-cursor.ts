/**
 * Where a pull resumes. Clients treat the cursor as an opaque string (protocol v1); the server knows two forms:
 *
 * - `seq`: the decimal `serverSeq` of the last event seen (`"42"`; `"0"` before the first). Servers with one
 *   writer (SQLite, memory) hand it out: there a serverSeq is visible in the order it was assigned.
 * - `commit`: `t<transactionId>.<position>`, the commit-safe place of the last event seen, handed out by the
 *   PostgreSQL storage, where transactions commit in another order than they take numbers (decision 11).
 *
 * Every storage reads both forms, so a cursor a client already holds keeps working whichever server it meets.
 */
export type PullCursor =
  | { readonly kind: 'seq'; readonly serverSeq: number }
  | {
      readonly kind: 'commit';
      /** The writing transaction's id (PostgreSQL `xid8`), decimal: it may pass 2^53. */
      readonly transactionId: string;
      /** The event's place among the events of that transaction and of every other. */
      readonly position: number;
    };

/** Before the first event, in every storage: what a pull without `since` reads from. */
export const START_CURSOR: PullCursor = { kind: 'seq', serverSeq: 0 };

const SEQ = /^\d{1,15}$/;
const COMMIT = /^t(\d{1,20})\.(\d{1,15})$/;
// xid8 is unsigned 64-bit; anything larger is no transaction id at all.
const MAX_TRANSACTION_ID = 2n ** 64n - 1n;

/** The cursor a `since` names, or null when it is not one this server ever handed out. */
export function parsePullCursor(text: string): PullCursor | null {
  if (SEQ.test(text)) return { kind: 'seq', serverSeq: Number(text) };
  const commit = COMMIT.exec(text);
  if (!commit) return null;
  const [, transactionId = '', position = ''] = commit;
  if (BigInt(transactionId) > MAX_TRANSACTION_ID) return null;
  // Canonical decimal (no leading zeros), so two spellings of one place compare equal as strings.
  return { kind: 'commit', transactionId: BigInt(transactionId).toString(), position: Number(position) };
}

/** The cursor as it goes on the wire; `parsePullCursor` reads it back to an equal cursor. */
export function formatPullCursor(cursor: PullCursor): string {
  return cursor.kind === 'seq' ? String(cursor.serverSeq) : `t${cursor.transactionId}.${cursor.position}`;
}
