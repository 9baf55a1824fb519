import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderWireEvent, OrderWireServerEvent } from '../../src/orders/wire';
import { type IdGenerator, uuidv7Generator } from '../../src/outbox/ids';
import {
  ErrorBodySchema,
  type PullResponse,
  PullResponseSchema,
  type PushResponse,
  PushResponseSchema,
  type WireClientEvent,
} from '../../src/outbox/protocol/messages';
import type { ServerStats } from '../../src/outbox/server/storage';

const DECIMAL_CURSOR = /^\d+$/;

export interface ProtocolTarget {
  /** Sends one request to the server under test; only this reaches it. */
  fetch: (request: Request) => Promise<Response>;
  /** The protocol's base URL, e.g. `http://127.0.0.1:8080/api/sync`. */
  baseUrl: string;
  /** The bearer token the server requires, if it was started with one. */
  token?: string;
  /**
   * The form of the pull cursors it hands out (clients treat them as opaque): the decimal serverSeq by
   * default, `t<transaction>.<position>` on PostgreSQL.
   */
  cursorForm?: RegExp;
  cleanup(): Promise<void>;
}

type EventOf<T extends OrderWireEvent['type']> = Extract<OrderWireEvent, { type: T }>;

/**
 * Builds one order's client events with consecutive versions, the way a well-behaved client writes them.
 * Tests then bend single fields to break exactly one rule.
 */
export class OrderStreamBuilder {
  readonly orderId: string;
  readonly streamId: string;
  private version = 0;

  constructor(
    private readonly ids: IdGenerator,
    readonly clientId: string,
  ) {
    this.orderId = ids();
    this.streamId = `order-${this.orderId}`;
  }

  created(customerName = 'Ada Lovelace', currency: EventOf<'OrderCreated'>['data']['currency'] = 'EUR') {
    return this.next('OrderCreated', { orderId: this.orderId, customerName, currency });
  }
  added(sku: string, quantity: number, unitPrice: number, name = `Product ${sku}`) {
    return this.next('ProductAdded', { sku, name, quantity, unitPrice });
  }
  removed(sku: string) {
    return this.next('ProductRemoved', { sku });
  }
  placed(total: number, lineCount: number) {
    return this.next('OrderPlaced', { total, lineCount });
  }
  cancelled(reason = 'Customer changed their mind') {
    return this.next('OrderCancelled', { reason });
  }

  private next<T extends OrderWireEvent['type']>(type: T, data: EventOf<T>['data']): EventOf<T> {
    this.version += 1;
    return {
      eventId: this.ids(),
      streamId: this.streamId,
      version: this.version,
      type,
      schemaVersion: 1,
      data,
      metadata: {
        commandId: this.ids(),
        correlationId: this.ids(),
        causationId: null,
        occurredAt: '2026-11-26T12:00:00.000Z',
        clientId: this.clientId,
      },
    } as EventOf<T>;
  }
}

/**
 * Every status path of protocol v1 (docs/protocol.md), spoken over HTTP through `makeTarget().fetch` only, so
 * the same suite checks the in-process handler, the MSW mock and a real server process. The target is made
 * once and shared: every test uses fresh client ids and streams and measures counters as differences, so
 * the suite also passes against a server that already holds data.
 */
export interface ProtocolContractOptions {
  /** Whether the target requires a bearer token (`target.token`): its refusals are checked only then. */
  readonly withToken?: boolean;
}

export function runProtocolContract(
  name: string,
  makeTarget: () => Promise<ProtocolTarget>,
  { withToken = true }: ProtocolContractOptions = {},
): void {
  describe(`sync protocol v1 contract: ${name}`, () => {
    const ids = uuidv7Generator();
    let target: ProtocolTarget;

    beforeAll(async () => {
      target = await makeTarget();
    });
    afterAll(async () => {
      await target?.cleanup();
    });

    const cursorForm = (): RegExp => target.cursorForm ?? DECIMAL_CURSOR;
    const authHeaders = (): Record<string, string> =>
      target.token ? { authorization: `Bearer ${target.token}` } : {};

    function send(
      path: string,
      init: { method?: string; body?: string; headers?: Record<string, string>; auth?: boolean } = {},
    ): Promise<Response> {
      const headers = { ...(init.auth === false ? {} : authHeaders()), ...init.headers };
      return target.fetch(
        new Request(`${target.baseUrl}${path}`, {
          method: init.method ?? 'GET',
          headers,
          ...(init.body === undefined ? {} : { body: init.body }),
        }),
      );
    }

    function pushRaw(body: string, headers: Record<string, string> = {}, auth = true): Promise<Response> {
      return send('/push', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'idempotency-key': ids(), ...headers },
        auth,
      });
    }

    function envelope(clientId: string, events: readonly unknown[], batchId = ids()) {
      return { protocol: 1, clientId, batchId, events };
    }

    /** A push answer with the order's server events, as protocol v1 names them. */
    type OrderPushResponse = Omit<PushResponse, 'serverEvents'> & {
      readonly serverEvents: readonly OrderWireServerEvent[];
    };
    async function push(clientId: string, events: readonly unknown[]): Promise<OrderPushResponse> {
      const response = await pushRaw(JSON.stringify(envelope(clientId, events)));
      expect(response.status).toBe(200);
      return v.parse(PushResponseSchema, await response.json()) as OrderPushResponse;
    }

    async function pull(clientId: string, since?: string): Promise<PullResponse> {
      const query = since === undefined ? '' : `&since=${since}`;
      const response = await send(`/pull?clientId=${clientId}${query}`);
      expect(response.status).toBe(200);
      return v.parse(PullResponseSchema, await response.json());
    }

    async function pullAll(clientId: string): Promise<PullResponse['serverEvents']> {
      const events: PullResponse['serverEvents'][number][] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await pull(clientId, cursor);
        events.push(...page.serverEvents);
        cursor = page.cursor;
        if (!page.hasMore) return events;
      }
    }

    async function expectError(response: Response, status: number): Promise<string> {
      expect(response.status).toBe(status);
      const body = v.parse(ErrorBodySchema, await response.json());
      expect(body.error.message.length).toBeGreaterThan(0);
      return body.error.code;
    }

    async function stats(): Promise<ServerStats> {
      const response = await send('/stats');
      expect(response.status).toBe(200);
      return (await response.json()) as ServerStats;
    }

    const statuses = (answer: Pick<PushResponse, 'results'>) => answer.results.map((result) => result.status);
    const codes = (answer: Pick<PushResponse, 'results'>) => answer.results.map((result) => result.code);

    /** A fresh client with one order of two lines, ready to be placed for 2 × 1250 + 1 × 500. */
    function draftOrder() {
      const clientId = ids();
      const order = new OrderStreamBuilder(ids, clientId);
      const events = [order.created(), order.added('WIDGET-1', 2, 1250), order.added('BOLT-7', 1, 500)];
      return { clientId, order, events };
    }

    describe('health', () => {
      it('answers ok without any credentials', async () => {
        const response = await send('/health', { auth: false });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ status: 'ok' });
      });
    });

    describe('push: accepted', () => {
      it('accepts a new order, answers one result per event in order, and confirms the placed order', async () => {
        const { clientId, order, events } = draftOrder();
        const placed = order.placed(3000, 2);
        const answer = await push(clientId, [...events, placed]);
        expect(answer.results).toEqual(
          [...events, placed].map((event) => ({ eventId: event.eventId, status: 'accepted' })),
        );
        expect(answer.serverEvents).toHaveLength(1);
        const [confirmation] = answer.serverEvents;
        expect(confirmation).toMatchObject({ type: 'OrderConfirmed', streamId: order.streamId });
        expect(confirmation?.type === 'OrderConfirmed' && confirmation.data.orderNumber).toBe(
          `SO-${String(confirmation?.serverSeq).padStart(6, '0')}`,
        );
        expect(confirmation?.type === 'OrderConfirmed' && confirmation.data.confirmedAt).toMatch(
          /^\d{4}-\d{2}-\d{2}T/,
        );
      });

      it('accepts a stream spread over several pushes, one version after another', async () => {
        const { clientId, order, events } = draftOrder();
        expect(statuses(await push(clientId, events.slice(0, 1)))).toEqual(['accepted']);
        expect(statuses(await push(clientId, events.slice(1)))).toEqual(['accepted', 'accepted']);
        const answer = await push(clientId, [order.removed('BOLT-7'), order.placed(2500, 1)]);
        expect(statuses(answer)).toEqual(['accepted', 'accepted']);
        expect(answer.serverEvents.map((event) => event.type)).toEqual(['OrderConfirmed']);
      });

      it('sums repeated additions of one sku and leaves out removed skus when checking the total', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const answer = await push(clientId, [
          order.created(),
          order.added('A-1', 2, 100),
          order.added('A-1', 3, 100),
          order.added('B-2', 1, 999),
          order.removed('B-2'),
          order.added('C-3', 1, 0),
          order.placed(500, 2),
        ]);
        expect(new Set(statuses(answer))).toEqual(new Set(['accepted']));
      });

      it('accepts a cancellation after the order was placed and confirmed', async () => {
        const { clientId, order, events } = draftOrder();
        const first = await push(clientId, [...events, order.placed(3000, 2)]);
        expect(first.serverEvents.map((event) => event.type)).toEqual(['OrderConfirmed']);
        const cancel = await push(clientId, [order.cancelled('Cancelled offline after confirmation')]);
        expect(statuses(cancel)).toEqual(['accepted']);
        expect(cancel.serverEvents).toEqual([]);
      });

      it('accepts a cancellation in the same batch right after the placement', async () => {
        const { clientId, order, events } = draftOrder();
        const answer = await push(clientId, [...events, order.placed(3000, 2), order.cancelled()]);
        expect(new Set(statuses(answer))).toEqual(new Set(['accepted']));
        expect(answer.serverEvents).toHaveLength(1);
      });

      it('accepts a draft cancelled before it was ever placed', async () => {
        const { clientId, order, events } = draftOrder();
        const answer = await push(clientId, [...events, order.cancelled()]);
        expect(new Set(statuses(answer))).toEqual(new Set(['accepted']));
        expect(answer.serverEvents).toEqual([]);
      });
    });

    describe('push: duplicate and conflict', () => {
      it('answers a whole resent batch with duplicate, no server events, and stores nothing twice', async () => {
        const { clientId, order, events } = draftOrder();
        const batch = [...events, order.placed(3000, 2)];
        const body = JSON.stringify(envelope(clientId, batch));
        const first = v.parse(PushResponseSchema, await (await pushRaw(body)).json());
        expect(first.serverEvents).toHaveLength(1);
        const before = await stats();

        const resent = await pushRaw(body);
        expect(resent.status).toBe(200);
        const answer = v.parse(PushResponseSchema, await resent.json());
        expect(answer.results).toEqual(
          batch.map((event) => ({ eventId: event.eventId, status: 'duplicate' })),
        );
        expect(answer.serverEvents).toEqual([]);

        const after = await stats();
        expect(after.eventsStored).toBe(before.eventsStored);
        expect(after.serverEvents).toBe(before.serverEvents);
        expect(after.duplicatesAnswered).toBeGreaterThanOrEqual(before.duplicatesAnswered + batch.length);
        // What the lost answer held is still there for the pull.
        expect(await pullAll(clientId)).toEqual(first.serverEvents);
      });

      it('answers duplicate for an identical event whose keys come in another order', async () => {
        const { clientId, order, events } = draftOrder();
        await push(clientId, events);
        const [created] = events;
        const reordered = JSON.parse(
          JSON.stringify({
            metadata: created?.metadata,
            data: { currency: 'EUR', customerName: 'Ada Lovelace', orderId: order.orderId },
            type: created?.type,
            schemaVersion: 1,
            version: 1,
            streamId: created?.streamId,
            eventId: created?.eventId,
          }),
        ) as unknown;
        expect(statuses(await push(clientId, [reordered]))).toEqual(['duplicate']);
      });

      it('answers duplicate for the stored part of a batch and accepts the rest', async () => {
        const { clientId, order, events } = draftOrder();
        await push(clientId, events.slice(0, 2));
        const answer = await push(clientId, [...events, order.placed(3000, 2)]);
        expect(statuses(answer)).toEqual(['duplicate', 'duplicate', 'accepted', 'accepted']);
        expect(answer.serverEvents).toHaveLength(1);
      });

      it('rejects with conflict an event whose id is stored with other content, and keeps the stored one', async () => {
        const { clientId, order, events } = draftOrder();
        await push(clientId, events);
        const [, added] = events;
        if (added?.type !== 'ProductAdded') throw new Error('fixture');
        const forged = { ...added, data: { ...added.data, quantity: 9 } };
        const answer = await push(clientId, [forged]);
        expect(answer.results).toEqual([
          expect.objectContaining({ eventId: added.eventId, status: 'rejected', code: 'conflict' }),
        ]);
        // The stored quantity (2) still decides the total.
        expect(statuses(await push(clientId, [order.placed(3000, 2)]))).toEqual(['accepted']);
      });
    });

    describe('push: versions', () => {
      it('asks to retry with gap an event ahead of the stream, and blocks the rest of that stream only', async () => {
        const { clientId, order, events } = draftOrder();
        const other = new OrderStreamBuilder(ids, clientId);
        await push(clientId, events.slice(0, 1));
        const answer = await push(clientId, [events[2], order.placed(3000, 2), other.created()]);
        expect(statuses(answer)).toEqual(['retry', 'retry', 'accepted']);
        expect(codes(answer)).toEqual(['gap', 'blocked', undefined]);
        expect(answer.serverEvents).toEqual([]);
        // Once the missing version arrives, the held-back events go through unchanged.
        const resent = await push(clientId, [events[1], events[2]]);
        expect(statuses(resent)).toEqual(['accepted', 'accepted']);
      });

      it('rejects with version_conflict a new event at a version the stream already has', async () => {
        const { clientId, order, events } = draftOrder();
        await push(clientId, events);
        const rival = new OrderStreamBuilder(ids, clientId).added('OTHER-1', 1, 1);
        const answer = await push(clientId, [{ ...rival, streamId: order.streamId, version: 2 }]);
        expect(answer.results).toEqual([
          expect.objectContaining({ status: 'rejected', code: 'version_conflict', eventId: rival.eventId }),
        ]);
      });
    });

    describe('push: invalid', () => {
      async function expectInvalid(
        clientId: string,
        setup: readonly WireClientEvent[],
        offending: unknown,
      ): Promise<void> {
        if (setup.length > 0)
          expect(new Set(statuses(await push(clientId, setup)))).toEqual(new Set(['accepted']));
        const answer = await push(clientId, [offending]);
        expect(answer.results).toHaveLength(1);
        expect(answer.results[0]).toMatchObject({ status: 'rejected', code: 'invalid' });
        expect(answer.results[0]?.reason?.length).toBeGreaterThan(0);
        expect(answer.serverEvents).toEqual([]);
      }

      it('rejects an event that breaks the schema, stores nothing, and takes the corrected event', async () => {
        const { clientId, events } = draftOrder();
        const [created, added] = events;
        if (!created || added?.type !== 'ProductAdded') throw new Error('fixture');
        await push(clientId, [created]);
        await expectInvalid(clientId, [], { ...added, data: { ...added.data, quantity: 0 } });
        await expectInvalid(clientId, [], {
          ...added,
          eventId: ids(),
          data: { ...added.data, unitPrice: 1.5 },
        });
        await expectInvalid(clientId, [], {
          ...added,
          eventId: ids(),
          data: { ...added.data, sku: 'lower' },
        });
        await expectInvalid(clientId, [], { ...added, eventId: ids(), schemaVersion: 2 });
        await expectInvalid(clientId, [], { ...added, eventId: ids(), type: 'OrderShipped' });
        await expectInvalid(clientId, [], { ...added, eventId: ids(), extra: true });
        await expectInvalid(clientId, [], {
          ...added,
          eventId: ids(),
          metadata: { ...added.metadata, clientId: 1 },
        });
        expect(statuses(await push(clientId, [added]))).toEqual(['accepted']);
      });

      it('rejects each event of a batch that is not an event at all, one result each', async () => {
        const clientId = ids();
        const answer = await push(clientId, [42, 'text', null, { eventId: ids() }]);
        expect(statuses(answer)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
        expect(new Set(codes(answer))).toEqual(new Set(['invalid']));
      });

      it('rejects a stream that does not start with OrderCreated', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        order.created();
        const added = order.added('A-1', 1, 100);
        await expectInvalid(clientId, [], { ...added, version: 1 });
      });

      it('rejects a second OrderCreated', async () => {
        const { clientId, order, events } = draftOrder();
        const again = order.created();
        await expectInvalid(clientId, events, again);
      });

      it("rejects an OrderCreated whose orderId is not the stream's", async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const created = order.created();
        await expectInvalid(clientId, [], { ...created, data: { ...created.data, orderId: ids() } });
      });

      it('rejects adding a product to a placed order', async () => {
        const { clientId, order, events } = draftOrder();
        const placed = order.placed(3000, 2);
        await expectInvalid(clientId, [...events, placed], order.added('LATE-1', 1, 100));
      });

      it('rejects adding a product to a cancelled order', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, [...events, order.cancelled()], order.added('LATE-1', 1, 100));
      });

      it('rejects removing a product from a placed order', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, [...events, order.placed(3000, 2)], order.removed('WIDGET-1'));
      });

      it('rejects removing a sku the order does not hold', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, events, order.removed('NEVER-ADDED'));
      });

      it('rejects removing a sku that was already removed', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, [...events, order.removed('BOLT-7')], order.removed('BOLT-7'));
      });

      it('rejects placing an order with no lines', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const setup = [order.created(), order.added('A-1', 1, 100), order.removed('A-1')];
        await expectInvalid(clientId, setup, order.placed(0, 0));
      });

      it('rejects placing an order whose total is not the sum of its lines', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, events, order.placed(2999, 2));
      });

      it('rejects placing an order twice', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, [...events, order.placed(3000, 2)], order.placed(3000, 2));
      });

      it('rejects placing a cancelled order', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, [...events, order.cancelled()], order.placed(3000, 2));
      });

      it('rejects a second cancellation', async () => {
        const { clientId, order, events } = draftOrder();
        await expectInvalid(clientId, [...events, order.cancelled()], order.cancelled('Again'));
      });
    });

    describe('push: blocked', () => {
      it('blocks every later event of a stream after a rejection in the batch, and no other stream', async () => {
        const { clientId, order, events } = draftOrder();
        const other = new OrderStreamBuilder(ids, clientId);
        const otherEvents = [other.created(), other.added('X-1', 1, 10)];
        const badAdd = order.added('A-1', 0, 100);
        const answer = await push(clientId, [
          ...events,
          badAdd,
          otherEvents[0],
          order.placed(3000, 2),
          otherEvents[1],
          order.cancelled(),
        ]);
        expect(statuses(answer)).toEqual([
          'accepted',
          'accepted',
          'accepted',
          'rejected',
          'accepted',
          'retry',
          'accepted',
          'retry',
        ]);
        expect(codes(answer).slice(3)).toEqual(['invalid', undefined, 'blocked', undefined, 'blocked']);
        expect(answer.serverEvents).toEqual([]);
      });

      it('blocks the rest of a stream after a conflict', async () => {
        const { clientId, order, events } = draftOrder();
        await push(clientId, events.slice(0, 2));
        const [, added] = events;
        if (added?.type !== 'ProductAdded') throw new Error('fixture');
        const answer = await push(clientId, [{ ...added, data: { ...added.data, quantity: 3 } }, events[2]]);
        expect(codes(answer)).toEqual(['conflict', 'blocked']);
        expect(statuses(await push(clientId, [events[2], order.placed(3000, 2)]))).toEqual([
          'accepted',
          'accepted',
        ]);
      });
    });

    describe('push: server decisions', () => {
      it('rejects a placed order holding a discontinued sku with discontinued_sku', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const answer = await push(clientId, [
          order.created(),
          order.added('DISC-OLD-1', 1, 100),
          order.added('NEW-1', 1, 100),
          order.placed(200, 2),
        ]);
        expect(new Set(statuses(answer))).toEqual(new Set(['accepted']));
        expect(answer.serverEvents).toEqual([
          expect.objectContaining({
            type: 'OrderRejected',
            streamId: order.streamId,
            data: expect.objectContaining({ code: 'discontinued_sku' }),
          }),
        ]);
      });

      it('does not hold a removed discontinued sku against the order', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const answer = await push(clientId, [
          order.created(),
          order.added('DISC-OLD-1', 1, 100),
          order.added('NEW-1', 1, 100),
          order.removed('DISC-OLD-1'),
          order.placed(100, 1),
        ]);
        expect(answer.serverEvents.map((event) => event.type)).toEqual(['OrderConfirmed']);
      });

      it('rejects a total over 1,000,000 minor units with credit_limit, and confirms exactly 1,000,000', async () => {
        const clientId = ids();
        const over = new OrderStreamBuilder(ids, clientId);
        const limit = new OrderStreamBuilder(ids, clientId);
        const answer = await push(clientId, [
          over.created(),
          over.added('BIG-1', 1, 1_000_001),
          over.placed(1_000_001, 1),
          limit.created(),
          limit.added('BIG-1', 4, 250_000),
          limit.placed(1_000_000, 1),
        ]);
        expect(answer.serverEvents).toEqual([
          expect.objectContaining({
            type: 'OrderRejected',
            streamId: over.streamId,
            data: expect.objectContaining({ code: 'credit_limit' }),
          }),
          expect.objectContaining({ type: 'OrderConfirmed', streamId: limit.streamId }),
        ]);
        const [first, second] = answer.serverEvents;
        expect(second?.serverSeq).toBeGreaterThan(first?.serverSeq ?? Number.POSITIVE_INFINITY);
      });

      it('counts confirmations and rejections in stats', async () => {
        const before = await stats();
        const clientId = ids();
        const good = new OrderStreamBuilder(ids, clientId);
        const bad = new OrderStreamBuilder(ids, clientId);
        await push(clientId, [
          good.created(),
          good.added('A-1', 1, 5),
          good.placed(5, 1),
          bad.created(),
          bad.added('DISC-1', 1, 5),
          bad.placed(5, 1),
        ]);
        const after = await stats();
        // Tests of a suite run one after another against its target: the push is all that changed.
        const grown = (type: string) =>
          (after.serverEventsByType[type] ?? 0) - (before.serverEventsByType[type] ?? 0);
        expect(after.eventsStored - before.eventsStored).toBe(6);
        expect(after.streams - before.streams).toBe(2);
        expect(after.serverEvents - before.serverEvents).toBe(2);
        expect(grown('OrderConfirmed')).toBe(1);
        expect(grown('OrderRejected')).toBe(1);
      });
    });

    describe('pull', () => {
      it("returns the server events of the client's streams from the beginning, and the cursor to resume", async () => {
        const { clientId, order, events } = draftOrder();
        const pushed = await push(clientId, [...events, order.placed(3000, 2)]);
        const page = await pull(clientId);
        expect(page.serverEvents).toEqual(pushed.serverEvents);
        expect(page.cursor).toMatch(cursorForm());
        if (cursorForm() === DECIMAL_CURSOR)
          expect(page.cursor).toBe(String(pushed.serverEvents[0]?.serverSeq));
        expect(page.hasMore).toBe(false);

        const again = await pull(clientId, page.cursor);
        expect(again).toEqual({ protocol: 1, serverEvents: [], cursor: page.cursor, hasMore: false });
      });

      it('answers an empty page with cursor 0 for a client that never pushed', async () => {
        expect(await pull(ids())).toEqual({ protocol: 1, serverEvents: [], cursor: '0', hasMore: false });
      });

      it('shows a client only the streams it pushed to', async () => {
        const mine = draftOrder();
        const theirs = draftOrder();
        await push(mine.clientId, [...mine.events, mine.order.placed(3000, 2)]);
        await push(theirs.clientId, [...theirs.events, theirs.order.placed(3000, 2)]);
        const seen = await pullAll(mine.clientId);
        expect(seen.map((event) => event.streamId)).toEqual([mine.order.streamId]);
      });

      it('pages through more than 500 server events in ascending order with hasMore', async () => {
        const clientId = ids();
        const orders = 501;
        const perPush = 166;
        const confirmations: number[] = [];
        for (let start = 0; start < orders; start += perPush) {
          const batch: WireClientEvent[] = [];
          for (let index = start; index < Math.min(orders, start + perPush); index += 1) {
            const order = new OrderStreamBuilder(ids, clientId);
            batch.push(order.created(), order.added('A-1', 1, 100), order.placed(100, 1));
          }
          const answer = await push(clientId, batch);
          confirmations.push(...answer.serverEvents.map((event) => event.serverSeq));
        }
        expect(confirmations).toHaveLength(orders);

        const first = await pull(clientId);
        expect(first.serverEvents).toHaveLength(500);
        expect(first.hasMore).toBe(true);
        expect(first.cursor).toMatch(cursorForm());
        if (cursorForm() === DECIMAL_CURSOR)
          expect(first.cursor).toBe(String(first.serverEvents.at(-1)?.serverSeq));
        const second = await pull(clientId, first.cursor);
        expect(second.serverEvents).toHaveLength(1);
        expect(second.hasMore).toBe(false);
        const seqs = [...first.serverEvents, ...second.serverEvents].map((event) => event.serverSeq);
        expect(seqs).toEqual(confirmations);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      });

      it('refuses a missing or malformed clientId or cursor with 400', async () => {
        const clientId = ids();
        for (const query of [
          '',
          '?clientId=',
          '?clientId=not-a-uuid',
          `?clientId=${clientId}&since=abc`,
          `?clientId=${clientId}&since=-1`,
          `?clientId=${clientId}&since=1.5`,
          `?clientId=${clientId}&since=t1.2.3`,
          `?clientId=${clientId}&since=t18446744073709551616.1`,
          `?clientId=${clientId}&since=t-1.5`,
        ]) {
          const response = await send(`/pull${query}`);
          await expectError(response, 400);
        }
      });
    });

    describe('envelope errors', () => {
      it('refuses a body that is not JSON with 400 and stores nothing', async () => {
        await expectError(await pushRaw('{"protocol":1,'), 400);
        await expectError(await pushRaw(''), 400);
      });

      it('refuses a wrong protocol or missing fields with 400 and stores nothing', async () => {
        const { clientId, events } = draftOrder();
        const good = envelope(clientId, events);
        const broken: unknown[] = [
          { ...good, protocol: 2 },
          { ...good, protocol: undefined },
          { ...good, clientId: undefined },
          { ...good, clientId: 'nobody' },
          { ...good, batchId: undefined },
          { ...good, events: undefined },
          { ...good, events: [] },
          { ...good, events: {} },
          [good],
          'just a string',
        ];
        for (const body of broken) await expectError(await pushRaw(JSON.stringify(body)), 400);
        expect(statuses(await push(clientId, events))).toEqual(['accepted', 'accepted', 'accepted']);
      });

      it('refuses a body that is not declared as JSON with 415', async () => {
        const { clientId, events } = draftOrder();
        const body = JSON.stringify(envelope(clientId, events));
        await expectError(await pushRaw(body, { 'content-type': 'text/plain' }), 415);
        await expectError(await pushRaw(body, { 'content-type': 'application/x-www-form-urlencoded' }), 415);
        expect(statuses(await push(clientId, events))).toEqual(['accepted', 'accepted', 'accepted']);
      });

      it('accepts application/json with a charset parameter', async () => {
        const { clientId, events } = draftOrder();
        const body = JSON.stringify(envelope(clientId, events));
        const response = await pushRaw(body, { 'content-type': 'application/json; charset=utf-8' });
        expect(response.status).toBe(200);
      });

      it('refuses a batch of more than 500 events with 413 and stores nothing', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const events: WireClientEvent[] = [order.created()];
        while (events.length < 501) events.push(order.added(`SKU-${events.length}`, 1, 1));
        await expectError(await pushRaw(JSON.stringify(envelope(clientId, events))), 413);
        const answer = await push(clientId, events.slice(0, 500));
        expect(new Set(statuses(answer))).toEqual(new Set(['accepted']));
      });

      it('refuses a body over 1 MiB with 413 and stores nothing', async () => {
        const clientId = ids();
        const order = new OrderStreamBuilder(ids, clientId);
        const created = order.created();
        const padding = 'x'.repeat(1024 * 1024);
        const body = JSON.stringify({ ...envelope(clientId, [created]), padding });
        await expectError(await pushRaw(body), 413);
        expect(statuses(await push(clientId, [created]))).toEqual(['accepted']);
      });

      it('answers an unknown route with 404 and a wrong method with 405, both with an error body', async () => {
        await expectError(await send('/nothing-here'), 404);
        await expectError(await send('/push', { method: 'GET' }), 405);
        await expectError(await send('/pull', { method: 'DELETE' }), 405);
      });
    });

    // Registered only for a target that requires a token: a test that skips itself could never fail.
    if (withToken)
      describe('bearer token', () => {
        const tokenOf = (): string => {
          if (!target.token) throw new Error(`${name} was declared with a token but made without one`);
          return target.token;
        };

        it('refuses a push without the token with 401 and stores nothing', async () => {
          const token = tokenOf();
          const { clientId, events } = draftOrder();
          const body = JSON.stringify(envelope(clientId, events));
          await expectError(await pushRaw(body, {}, false), 401);
          await expectError(await pushRaw(body, { authorization: 'Bearer wrong-token' }, false), 401);
          await expectError(await pushRaw(body, { authorization: `Basic ${token}` }, false), 401);
          expect(statuses(await push(clientId, events))).toEqual(['accepted', 'accepted', 'accepted']);
        });

        it('refuses pull and stats without the token with 401, but not health', async () => {
          tokenOf();
          await expectError(await send(`/pull?clientId=${ids()}`, { auth: false }), 401);
          await expectError(await send('/stats', { auth: false }), 401);
          expect((await send('/health', { auth: false })).status).toBe(200);
        });
      });
  });
}
