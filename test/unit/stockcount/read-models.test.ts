import { describe, expect, it } from 'vitest';
import type { ClientEventOf, ServerEventOf } from '../../../src/outbox';
import type {
  ClientStockCountEvent,
  ServerStockCountEvent,
  StockCountEvent,
} from '../../../src/stockcount/domain/events';
import {
  foldStockCount,
  initialStockCountState,
  type StockCountState,
} from '../../../src/stockcount/domain/stock-count';
import {
  STOCKCOUNT_TABLES,
  type StockCountChange,
  type StockCountSummary,
  stockCountReadModels,
} from '../../../src/stockcount/read-models';
import { streamIdOf } from '../../../src/stockcount/stream-ids';

const countId = '01937b2e-0000-7000-8000-00000000c001';
const streamId = streamIdOf(countId);
const at = (minute: number): string => `2026-12-04T09:${String(minute).padStart(2, '0')}:00.000Z`;

const client = (version: number, event: ClientStockCountEvent): ClientEventOf<ClientStockCountEvent> => ({
  ...event,
  kind: 'client',
  version,
  eventId: `01937b2e-0000-7000-8000-0000000e${String(version).padStart(4, '0')}`,
  streamId,
  occurredAt: at(version),
});
const server = (serverSeq: number, event: ServerStockCountEvent): ServerEventOf<ServerStockCountEvent> => ({
  ...event,
  kind: 'server',
  serverSeq,
  eventId: `01937b2e-0000-7000-8000-0000000f${String(serverSeq).padStart(4, '0')}`,
  streamId,
  occurredAt: at(50),
});

const started = client(1, { type: 'CountStarted', data: { countId, location: 'WH-01' } });
const tea = client(2, { type: 'QuantityRecorded', data: { sku: 'TEA-GRN-100', quantity: 12 } });
const oat = client(3, { type: 'QuantityRecorded', data: { sku: 'MLK-OAT-1L', quantity: 0 } });
const submitted = client(4, {
  type: 'CountSubmitted',
  data: {
    lines: [
      { sku: 'TEA-GRN-100', quantity: 12 },
      { sku: 'MLK-OAT-1L', quantity: 0 },
    ],
  },
});

type StepEvent = NonNullable<StockCountChange['event']>;

/**
 * The step the core would hand over last after folding `events` one by one onto the stream as `history`
 * left it: the last event's (or, with none, a discard's) before and after.
 */
function changeOf(
  history: readonly StockCountEvent[],
  events: readonly StepEvent[],
  options: { after?: StockCountState; version?: number } = {},
): StockCountChange {
  const before = foldStockCount([...history, ...events.slice(0, -1)]);
  const last = events.at(-1) ?? null;
  const clientVersions = [...history, ...events].filter((event) => 'version' in event);
  return {
    streamId,
    id: countId,
    before,
    after: options.after ?? (last ? foldStockCount([last], before) : before),
    event: last,
    version: options.version ?? clientVersions.length,
    createdAt: at(1),
    updatedAt: last?.occurredAt ?? at(1),
  };
}

const summary = (fields: Partial<StockCountSummary>): StockCountSummary => ({
  id: countId,
  location: 'WH-01',
  status: 'counting',
  lineCount: 0,
  unitsCounted: 0,
  countNumber: null,
  acceptedAt: null,
  rejection: null,
  abandonReason: null,
  version: 1,
  createdAt: at(1),
  updatedAt: at(1),
  ...fields,
});

describe('stock count read models', () => {
  it('declare tables keyed by id, named apart from the orders tables', () => {
    expect(STOCKCOUNT_TABLES).toEqual({
      stockCounts: '&id, status, location, updatedAt',
      stockCountLines: '&id',
      stockCountCounts: '&id',
    });
    expect(Object.keys(STOCKCOUNT_TABLES)).not.toContain('orders');
    expect(Object.keys(STOCKCOUNT_TABLES)).not.toContain('orderLines');
  });

  it('list a started count with an empty sheet', () =>
    expect(stockCountReadModels.rows(changeOf([], [started]))).toEqual({
      stockCounts: summary({}),
      stockCountLines: { id: countId, lines: [] },
    }));

  it('count lines and units as quantities are recorded, zero included', () =>
    expect(stockCountReadModels.rows(changeOf([started], [tea, oat]))).toEqual({
      stockCounts: summary({ lineCount: 2, unitsCounted: 12, version: 3, updatedAt: at(3) }),
      stockCountLines: {
        id: countId,
        lines: [
          { sku: 'TEA-GRN-100', quantity: 12 },
          { sku: 'MLK-OAT-1L', quantity: 0 },
        ],
      },
    }));

  it('show a recount as the line’s new quantity', () => {
    const recount = client(4, { type: 'QuantityRecorded', data: { sku: 'TEA-GRN-100', quantity: 7 } });
    const rows = stockCountReadModels.rows(changeOf([started, tea, oat], [recount]));
    expect(rows.stockCounts).toMatchObject({ lineCount: 2, unitsCounted: 7 });
    expect(rows.stockCountLines).toEqual({
      id: countId,
      lines: [
        { sku: 'TEA-GRN-100', quantity: 7 },
        { sku: 'MLK-OAT-1L', quantity: 0 },
      ],
    });
  });

  it('show a submitted count, then the server’s number and time when it is accepted', () => {
    expect(stockCountReadModels.rows(changeOf([started, tea, oat], [submitted])).stockCounts).toEqual(
      summary({ status: 'submitted', lineCount: 2, unitsCounted: 12, version: 4, updatedAt: at(4) }),
    );
    const accepted = server(42, {
      type: 'CountAccepted',
      data: { countNumber: 'SC-000042', acceptedAt: '2026-12-04T09:50:01.000Z' },
    });
    expect(
      stockCountReadModels.rows(changeOf([started, tea, oat, submitted], [accepted])).stockCounts,
    ).toEqual(
      summary({
        status: 'accepted',
        lineCount: 2,
        unitsCounted: 12,
        countNumber: 'SC-000042',
        acceptedAt: '2026-12-04T09:50:01.000Z',
        version: 4,
        updatedAt: at(50),
      }),
    );
  });

  it('show a rejection with its code, reason and the skus to recount', () => {
    const rejected = server(43, {
      type: 'CountRejected',
      data: { code: 'discrepancy', reason: 'TEA-GRN-100: counted 12, expected 40', skus: ['TEA-GRN-100'] },
    });
    const rows = stockCountReadModels.rows(changeOf([started, tea, oat, submitted], [rejected]));
    expect(rows.stockCounts).toMatchObject({
      status: 'rejected',
      countNumber: null,
      rejection: {
        code: 'discrepancy',
        reason: 'TEA-GRN-100: counted 12, expected 40',
        skus: ['TEA-GRN-100'],
      },
    });
  });

  it('show an abandoned count with the person’s reason and the lines it had', () => {
    const abandoned = client(4, { type: 'CountAbandoned', data: { reason: 'Wrong shelf' } });
    const rows = stockCountReadModels.rows(changeOf([started, tea, oat], [abandoned]));
    expect(rows.stockCounts).toEqual(
      summary({
        status: 'abandoned',
        abandonReason: 'Wrong shelf',
        lineCount: 2,
        unitsCounted: 12,
        version: 4,
        updatedAt: at(4),
      }),
    );
    expect(rows.stockCountLines).toMatchObject({ lines: [{ sku: 'TEA-GRN-100' }, { sku: 'MLK-OAT-1L' }] });
  });

  it('keep a count discarded back to nothing on the list, with no lines', () => {
    // A discard folds the kept events again; with CountStarted itself discarded the state is `none` again.
    const change = changeOf([started, tea], [], { after: initialStockCountState, version: 2 });
    expect(stockCountReadModels.rows(change)).toEqual({
      stockCounts: summary({ version: 2 }),
      stockCountLines: { id: countId, lines: [] },
    });
  });

  it('write nothing for a stream that never held a count', () => {
    const stray = server(44, {
      type: 'CountRejected',
      data: { code: 'discrepancy', reason: 'late', skus: [] },
    });
    expect(stockCountReadModels.rows(changeOf([], [stray]))).toEqual({});
  });

  it('are pure: the same change gives the same rows', () => {
    const change = changeOf([started], [tea, oat]);
    expect(stockCountReadModels.rows(change)).toEqual(stockCountReadModels.rows(structuredClone(change)));
  });
});
