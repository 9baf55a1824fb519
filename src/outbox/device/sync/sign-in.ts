import type { IdGenerator } from '../../ids';
import type { OutboxDatabase } from '../../storage/outbox-database';
import { ALL_ROWS, type OutboxRecords } from '../../storage/outbox-database';
import type { OutboxRow } from '../../storage/rows';
import { refreshDeliveryWithin } from '../read-models/projections';
import { ACCOUNT_KEY, type Account, readAccountWithin, type Sender, senderOf } from './account';
import { patchSyncMetaWithin } from './sync-meta';

/**
 * Signing in and out on the device (the rule is in `account.ts`): which rows go for the user signing in,
 * which wait for someone else, written in one transaction. The page's side only: the worker never signs in.
 */

/** A stream's undelivered rows as the user signing in must treat them: which go, which wait, and for whom. */
export interface StreamSplit {
  /** Rows that go under `user`: pending, with `writtenBy` set to them (a row written signed out is theirs). */
  readonly sending: readonly OutboxRow[];
  readonly parked: readonly OutboxRow[];
  /** Whose sign-in the parked rows wait for: who wrote the first of them. */
  readonly waitingFor: string | null;
}

/**
 * The split, pure: `rows` are one stream's pending and parked rows (dead rows hold the lane on their own and
 * are left as they are). The prefix written by `user` or by nobody goes; the rest waits.
 */
export function splitStream(rows: readonly OutboxRow[], user: string): StreamSplit {
  const sorted = [...rows].sort((a, b) => a.version - b.version);
  const cut = sorted.findIndex((row) => (row.writtenBy ?? null) !== null && row.writtenBy !== user);
  const sending = (cut === -1 ? sorted : sorted.slice(0, cut)).map((row) => ({
    ...row,
    status: 'pending' as const,
    writtenBy: user,
  }));
  const parked = (cut === -1 ? [] : sorted.slice(cut)).map((row) => ({ ...row, status: 'parked' as const }));
  return { sending, parked, waitingFor: cut === -1 ? null : (sorted[cut]?.writtenBy ?? null) };
}

/** The rows of one stream whose status or author a split for `user` changes: what to write. */
function changedBySplit(rows: readonly OutboxRow[], split: StreamSplit): OutboxRow[] {
  const before = new Map(rows.map((row) => [row.eventId, row] as const));
  return [...split.sending, ...split.parked].filter((row) => {
    const was = before.get(row.eventId);
    return was?.status !== row.status || (was.writtenBy ?? null) !== (row.writtenBy ?? null);
  });
}

/**
 * One stream split again for `user` after its rows changed (a dead entry retried): rows another user wrote
 * wait for them, so a retry never sends them under whoever is signed in now. Writes the rows that changed,
 * and names whom they now wait for in the account, as a sign-in does. The caller refreshes the delivery row.
 */
export async function resplitStreamWithin(
  records: OutboxRecords,
  streamId: string,
  user: string,
): Promise<void> {
  const [rows, account] = await Promise.all([records.streamRows(streamId), readAccountWithin(records)]);
  const undelivered = rows.filter((row) => row.status !== 'dead');
  const split = splitStream(undelivered, user);
  const changed = changedBySplit(undelivered, split);
  const waitingFor = split.waitingFor;
  await Promise.all([
    changed.length > 0 ? records.putOutboxRows(changed) : undefined,
    waitingFor !== null && !account.parkedFor.includes(waitingFor)
      ? records.putMeta(ACCOUNT_KEY, { ...account, parkedFor: [...account.parkedFor, waitingFor].sort() })
      : undefined,
  ]);
}

/** What a sign-in changed on the device. */
export interface SignedIn {
  readonly sender: Sender;
  /** Rows that now wait for someone else's sign-in, and rows that were waiting for this user and now go. */
  readonly parked: number;
  readonly unparked: number;
  readonly parkedFor: readonly string[];
}

export interface SignInRequest {
  readonly user: string;
  /** The device's clientId: the first user to sign in pushes under it. */
  readonly deviceClientId: string;
  readonly newId: IdGenerator;
}

/**
 * The tables a sign-in rewrites: outbox rows (parked or back to pending), the delivery facts they change,
 * the account and the sync facts (the sign-in pause ends).
 */
export const SIGN_IN_TABLES = ['outbox', 'streams', 'deliveries', 'meta'] as const;

/**
 * `user` signed in: from now on the device sends as them. In one transaction: their clientId (made on
 * their first sign-in here), every stream's undelivered rows split for them, the delivery facts of the
 * streams that changed, and the end of the sign-in pause. Call it while no flush runs (page sync holds
 * the flush lock around the login and this), so no request in flight carries rows that change hands.
 */
export async function signInWithin(records: OutboxRecords, request: SignInRequest): Promise<SignedIn> {
  const { user, deviceClientId, newId } = request;
  const [account, pending, parked] = await Promise.all([
    readAccountWithin(records),
    records.pendingRows(undefined, true, ALL_ROWS),
    records.rowsWithStatus('parked'),
  ]);
  const byStream = new Map<string, OutboxRow[]>();
  for (const row of [...pending, ...parked]) {
    const rows = byStream.get(row.streamId) ?? [];
    rows.push(row);
    byStream.set(row.streamId, rows);
  }
  const changed: OutboxRow[] = [];
  const touched: string[] = [];
  const waiting = new Set<string>();
  let parkedNow = 0;
  let unparked = 0;
  for (const [streamId, rows] of byStream) {
    const split = splitStream(rows, user);
    if (split.waitingFor !== null) waiting.add(split.waitingFor);
    const streamChanges = changedBySplit(rows, split);
    const statusBefore = new Map(rows.map((row) => [row.eventId, row.status] as const));
    for (const row of streamChanges) {
      const was = statusBefore.get(row.eventId);
      if (was === 'pending' && row.status === 'parked') parkedNow += 1;
      if (was === 'parked' && row.status === 'pending') unparked += 1;
    }
    changed.push(...streamChanges);
    if (streamChanges.length > 0) touched.push(streamId);
  }
  const clientIds = { ...account.clientIds };
  if (clientIds[user] === undefined) {
    const taken = Object.values(clientIds).includes(deviceClientId);
    clientIds[user] = taken ? newId() : deviceClientId;
  }
  const next: Account = { user, clientIds, parkedFor: [...waiting].sort(), signIns: account.signIns + 1 };
  if (changed.length > 0) await records.putOutboxRows(changed);
  await Promise.all([
    refreshDeliveryWithin(records, touched),
    records.putMeta(ACCOUNT_KEY, next),
    patchSyncMetaWithin(records, { authRequired: false, nextAttemptAt: null, lastError: null }),
  ]);
  return {
    sender: senderOf(next, deviceClientId),
    parked: parkedNow,
    unparked,
    parkedFor: next.parkedFor,
  };
}

/**
 * The browser holds a session for `user` while the device has nobody signed in (its database vanished and
 * its cookies stayed): every push already goes under that session, so `user` signs in, exactly as
 * `signInWithin`. Null, and nothing written, when someone signed in meanwhile.
 */
export async function resumeWithin(records: OutboxRecords, request: SignInRequest): Promise<SignedIn | null> {
  const account = await readAccountWithin(records);
  return account.user === null ? signInWithin(records, request) : null;
}

/**
 * Signed out: nobody is signed in on the device. Nothing is parked or deleted: the rows stay as they are
 * (a later push without a session meets the server's 401, and the status asks for a sign-in); what is
 * written from now on belongs to the next person who signs in.
 */
export async function signOutWithin(records: OutboxRecords): Promise<void> {
  const account = await readAccountWithin(records);
  if (account.user !== null) await records.putMeta(ACCOUNT_KEY, { ...account, user: null });
}

/** Who the device sends as. */
export interface AccountStorage {
  /**
   * `user` signed in: the device sends as them from now on, under their clientId; rows written by someone
   * else wait (parked), theirs go, and the sign-in pause ends (device/sync/account.ts). One transaction.
   */
  signIn(request: SignInRequest): Promise<SignedIn>;
  /** As `signIn`, only while nobody is signed in on the device (null otherwise); one transaction. */
  resume(request: SignInRequest): Promise<SignedIn | null>;
  /** Nobody is signed in any more; no row changes. */
  signOut(): Promise<void>;
}

/** The account part of the storage port over a database (`outbox-storage.ts`). */
export function accountStorage(database: OutboxDatabase): AccountStorage {
  return {
    signIn: (request) => database.transact('rw', SIGN_IN_TABLES, (records) => signInWithin(records, request)),
    resume: (request) => database.transact('rw', SIGN_IN_TABLES, (records) => resumeWithin(records, request)),
    signOut: () => database.transact('rw', ['meta'], signOutWithin),
  };
}
