import type { Dexie, Table, Transaction } from 'dexie';
import { all, maxKey, minKey, type OutboxDatabase, type OutboxRecords } from './outbox-database';
import type {
  ArchivedStreamRow,
  CommandRow,
  DeliveryRow,
  LeaseRow,
  MetaRow,
  OutboxRow,
  StoredEvent,
  StreamRow,
} from './rows';

/** Where the tables come from: a Dexie transaction (or upgrade transaction), each table bound to it. */
export type DexieTables = Pick<Transaction, 'table'>;

/**
 * The outbox's records on Dexie, what the pages run: each read and write is one Dexie call on the
 * transaction's own tables. Reads take the shapes docs/performance.md measured: a `getAll` per range or per
 * stream, a `bulkGet` by primary key, never a cursor per row where a range does.
 */
export function dexieRecords(tables: DexieTables): OutboxRecords {
  // Looked up when used: Dexie refuses a table outside the transaction's scope as soon as it is named.
  const events = (): Table<StoredEvent, number> => tables.table('events');
  const outbox = (): Table<OutboxRow, string> => tables.table('outbox');
  const leases = (): Table<LeaseRow, string> => tables.table('leases');
  const streams = (): Table<StreamRow, string> => tables.table('streams');
  const deliveries = (): Table<DeliveryRow, string> => tables.table('deliveries');
  const commands = (): Table<CommandRow, string> => tables.table('commands');
  const meta = (): Table<MetaRow, string> => tables.table('meta');
  const archive = (): Table<ArchivedStreamRow, string> => tables.table('archive');
  const withStatus = (status: OutboxRow['status']) =>
    outbox().where('[status+position]').between([status, minKey], [status, maxKey]);
  const done = (): void => undefined;
  return {
    pendingRows: (from, inclusive, limit) =>
      outbox()
        .where('[status+position]')
        .between(['pending', from ?? minKey], ['pending', maxKey], inclusive)
        .limit(limit)
        .toArray(),
    rowsWithStatus: (status) => withStatus(status).toArray(),
    countRows: (status) => withStatus(status).count(),
    outboxRows: (eventIds) => outbox().bulkGet([...eventIds]),
    outboxRowsBetween: (from, to) => outbox().where('position').between(from, to, true, true).toArray(),
    streamRows: (streamId) => outbox().where('streamId').equals(streamId).toArray(),
    streamRowsFrom: (streamId, version) =>
      outbox()
        .where('[streamId+version]')
        .between([streamId, version], [streamId, maxKey], true, true)
        .toArray(),
    addOutboxRows: (rows) =>
      outbox()
        .bulkAdd([...rows], { allKeys: false })
        .then(done),
    putOutboxRows: (rows) =>
      outbox()
        .bulkPut([...rows])
        .then(done),
    deleteOutboxRows: (eventIds) => outbox().bulkDelete([...eventIds]),

    appendEvents: (stored) =>
      events()
        .bulkAdd([...stored], { allKeys: true })
        .then((keys) => keys.map((key) => Number(key))),
    putEvents: (stored) =>
      events()
        .bulkPut([...stored])
        .then(done),
    deleteEvents: (positions) => events().bulkDelete([...positions]),
    eventsAt: (positions) => events().bulkGet([...positions]),
    eventsBetween: (from, to) => events().where('position').between(from, to, true, true).toArray(),
    eventsAfter: (position, limit) =>
      events().where('position').between(position, Number.POSITIVE_INFINITY, false).limit(limit).toArray(),
    lastEventPosition: () =>
      events()
        .orderBy('position')
        .last()
        .then((event) => event?.position),
    streamEvents: (streamId) => events().where('streamId').equals(streamId).toArray(),
    eventsWithIds: (eventIds) =>
      events()
        .where('eventId')
        .anyOf([...eventIds])
        .toArray(),
    storedEventIds: (eventIds) =>
      events()
        .where('eventId')
        .anyOf([...eventIds])
        .keys()
        .then((keys) => keys.map(String)),

    leases: () => leases().toArray(),
    lease: (batchId) => leases().get(batchId),
    addLease: (lease) => leases().add(lease).then(done),
    deleteLeases: (batchIds) => leases().bulkDelete([...batchIds]),

    streams: (streamIds) => streams().bulkGet([...streamIds]),
    putStreams: (rows) =>
      streams()
        .bulkPut([...rows])
        .then(done),
    deliveries: (streamIds) => deliveries().bulkGet([...streamIds]),
    putDeliveries: (rows) =>
      deliveries()
        .bulkPut([...rows])
        .then(done),
    commands: (commandIds) => commands().bulkGet([...commandIds]),
    addCommands: (rows) =>
      commands()
        .bulkAdd([...rows], { allKeys: false })
        .then(done),
    putCommands: (rows) =>
      commands()
        .bulkPut([...rows])
        .then(done),

    meta: (key) =>
      meta()
        .get(key)
        .then((row) => row?.value),
    putMeta: (key, value) => meta().put({ key, value }).then(done),

    archivedStreams: (streamIds) => archive().bulkGet([...streamIds]),
    archiveStreams: (tombstones, positions) => {
      const streamIds = tombstones.map((row) => row.streamId);
      return all([
        archive().bulkPut([...tombstones]),
        events().bulkDelete([...positions]),
        streams().bulkDelete(streamIds),
        deliveries().bulkDelete(streamIds),
      ]).then(done);
    },

    readModelRows: (table, ids) => tables.table(table).bulkGet([...ids]),
    putReadModelRows: (table, rows) =>
      tables
        .table(table)
        .bulkPut([...rows])
        .then(done),
    deleteReadModelRows: (table, ids) => tables.table(table).bulkDelete([...ids]),
    clearTables: (names) => all(names.map((name) => tables.table(name).clear())).then(done),
  };
}

/** `OutboxDatabase.transact` on a Dexie database: its transaction's tables are bound to that transaction. */
export function dexieTransact(db: Dexie): OutboxDatabase['transact'] {
  // An async scope, not a function returning a promise: Dexie keeps its transaction across native awaits
  // only inside a scope it can see is async.
  return (mode, scope, work) =>
    db.transaction(mode, [...scope], async (tx: Transaction) => work(dexieRecords(tx)));
}
