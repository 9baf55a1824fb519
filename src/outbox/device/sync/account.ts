import * as v from 'valibot';
import { UuidSchema } from '../../fields';
import type { IdGenerator } from '../../ids';
import type { OutboxDatabase, OutboxRecords } from '../../storage/outbox-database';

/**
 * Who this device sends as, and the rule that events never change hands (docs/protocol.md, "Events never
 * change hands"): an event written while A was signed in is sent only with A's credentials, under A's
 * clientId. Each outbox row records who wrote it (`writtenBy`); when B signs in, A's unsent rows are
 * `parked` (kept, shown, exported, never claimed) until A signs in again. Rows written while nobody was
 * signed in belong to the next person who signs in.
 *
 * Parking is per stream and keeps one invariant the lane rule relies on without reading parked rows: in a
 * stream, every parked row comes after every pending one. For the user signing in, a stream's undelivered
 * rows split at the first row written by someone else: the rows before it go (pending), that row and every
 * one after it wait (parked), whoever wrote them, so nothing of a stream is sent out of order.
 */

export const ACCOUNT_KEY = 'account';

export const AccountSchema = v.object({
  /** Who the device sends as: the user who last signed in; null before anyone did, and after sign-out. */
  // As the server named them (`GET /me`, checked there): the status reads this on the first screen, so it
  // does not load the sign-in schemas.
  user: v.nullable(v.pipe(v.string(), v.minLength(1))),
  /**
   * Each user's clientId on this device: the server gives a clientId to the user who first pushes with it,
   * so each user pushes and pulls under a clientId of their own. The first user takes the device's own.
   */
  clientIds: v.record(v.string(), UuidSchema),
  /** Whose sign-in parked rows wait for (those who wrote the first parked row of a stream). */
  parkedFor: v.array(v.string()),
  /**
   * Counts sign-ins on the device. A sign-in can make rows pending again below where a sync engine's next
   * scan of pending rows would start (`Claim.scanFrom`); an engine that sees it change scans from the start.
   */
  signIns: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0)), 0),
});
export type Account = v.InferOutput<typeof AccountSchema>;

export const initialAccount: Account = { user: null, clientIds: {}, parkedFor: [], signIns: 0 };

/** A missing or unreadable record (a device that never signed in) reads as nobody signed in. */
export async function readAccountWithin(records: OutboxRecords): Promise<Account> {
  const parsed = v.safeParse(AccountSchema, await records.meta(ACCOUNT_KEY));
  return parsed.success ? parsed.output : initialAccount;
}

export function readAccount(database: OutboxDatabase): Promise<Account> {
  return database.transact('r', ['meta'], readAccountWithin);
}

/** Who a push or a pull goes as: the signed-in user (null: none) and the clientId they push under. */
export interface Sender {
  readonly user: string | null;
  readonly clientId: string;
  /** `Account.signIns` when read. */
  readonly signIns: number;
}

/** The device's clientId (`deviceClientId`) goes for nobody signed in and for its first user. */
export const senderOf = (account: Account, deviceClientId: string): Sender => ({
  user: account.user,
  clientId: (account.user === null ? undefined : account.clientIds[account.user]) ?? deviceClientId,
  signIns: account.signIns,
});

/** The server gave the user's clientId to someone else (`403 client_id_taken`): they get a fresh one. */
export async function replaceClientIdWithin(
  records: OutboxRecords,
  user: string,
  newId: IdGenerator,
): Promise<void> {
  const account = await readAccountWithin(records);
  await records.putMeta(ACCOUNT_KEY, { ...account, clientIds: { ...account.clientIds, [user]: newId() } });
}
