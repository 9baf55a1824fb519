import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { listDeadLetters, retryDeadLetter } from '../../../src/outbox/device/sync/dead-letters';
import { readSyncMeta } from '../../../src/outbox/device/sync/sync-meta';
import { orderSummary } from '../../support/order-rows';
import {
  BASE_URL,
  type ClientSide,
  laneBreaches,
  loggingTransport,
  type PushLogEntry,
  setupSyncTestServer,
} from './harness';

const sync = setupSyncTestServer({ seed: 7 });
const { server } = sync;

function setup() {
  const { clock, client, backend } = sync.setup();
  const secondClient = () => sync.addClient({ clock, seed: 8 });
  return { clock, client, backend, secondClient };
}

/** The order's client events' delivery states in version order (delivered: the row is gone). */
const statusesOf = (client: ClientSide, orderId: string) => client.deliveries(orderId);

/** Another device created the same order first: this device's version 1 is a version_conflict. */
async function conflictingOrder(client: ClientSide, other: ClientSide): Promise<string> {
  const orderId = await other.draftOrder(['SKU-1']);
  expect((await other.engine().flush()).delivered).toBe(2);
  await client.run({ type: 'CreateOrder', orderId, customerName: 'Grace Hopper', currency: 'EUR' });
  await client.run({ type: 'AddProduct', orderId, sku: 'SKU-9', name: 'Late', quantity: 1, unitPrice: 100 });
  await client.run({ type: 'AddProduct', orderId, sku: 'SKU-8', name: 'Later', quantity: 1, unitPrice: 100 });
  return orderId;
}

describe('per-stream lanes', () => {
  it('a dead event in stream A holds back A only: stream B is delivered', async () => {
    const { client, secondClient } = setup();
    const log: PushLogEntry[] = [];
    const engine = client.engine({ transport: loggingTransport(fetch, log) });
    const streamA = await conflictingOrder(client, secondClient());
    const streamB = await client.draftOrder(['SKU-1', 'SKU-2']);

    const report = await engine.flush();

    expect(report).toMatchObject({ delivered: 3, dead: 1, retrying: 2 });
    expect(await statusesOf(client, streamA)).toEqual(['dead', 'pending', 'pending']);
    expect(await statusesOf(client, streamB)).toEqual(['delivered', 'delivered', 'delivered']);
    const summary = await orderSummary(client.db, streamA);
    expect(summary?.syncState).toBe('attention');
    expect(summary?.blockedReason).toMatch(/version_conflict|OrderCreated/);

    // More work on B goes out; A's later versions stay behind the dead one, however often we flush.
    await client.run({ type: 'PlaceOrder', orderId: streamB });
    await client.clock.advance(10 * 60_000);
    expect(await engine.flush()).toMatchObject({ delivered: 1 });
    expect(await engine.flush()).toMatchObject({ sent: 0, outcome: 'idle' });
    const sentA = log
      .flatMap((entry) => entry.events)
      .filter((event) => event.streamId === streamIdOf(streamA));
    expect(sentA.map((event) => event.version)).toEqual([1, 2, 3]);
    expect(laneBreaches(log)).toEqual([]);
  });

  it('never sends version v+1 before v is delivered, while other streams keep flowing', async () => {
    const { client, clock, backend } = setup();
    const log: PushLogEntry[] = [];
    const engine = client.engine({ transport: loggingTransport(fetch, log), policy: { batchSize: 3 } });
    const held = await client.draftOrder(['SKU-1', 'SKU-2', 'SKU-3']);
    const other = await client.draftOrder(['SKU-1', 'SKU-2']);
    const heldStream = streamIdOf(held);
    // The server cannot take `held` yet (say an earlier event of it is still on its way): it answers retry.
    let holding = true;
    server.use(
      http.post(`${BASE_URL}/push`, async ({ request }) => {
        if (!holding) return undefined;
        const body = (await request.json()) as { events: { streamId: string; eventId: string }[] };
        const rest = body.events.filter((event) => event.streamId !== heldStream);
        const forwarded = rest.length
          ? ((await (
              await backend.handle(
                new Request(request.url, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ ...body, events: rest }),
                }),
              )
            ).json()) as { results: unknown[]; serverEvents: unknown[] })
          : { results: [], serverEvents: [] };
        const byId = new Map(
          forwarded.results.map((result) => [(result as { eventId: string }).eventId, result]),
        );
        let first = true;
        const results = body.events.map((event) => {
          if (event.streamId !== heldStream) return byId.get(event.eventId);
          const code = first ? 'gap' : 'blocked';
          first = false;
          return { eventId: event.eventId, status: 'retry', code };
        });
        return HttpResponse.json({ protocol: 1, results, serverEvents: forwarded.serverEvents });
      }),
    );

    const first = await engine.flush();
    expect(first.outcome).toBe('drained');
    expect(await statusesOf(client, other)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(await statusesOf(client, held)).toEqual(['pending', 'pending', 'pending', 'pending']);
    const rows = (await client.outbox()).filter((row) => row.streamId === heldStream);
    expect(rows[0]?.lastError).toMatch(/retry: gap/);
    expect(first.nextAttemptAt).not.toBeNull();
    const summary = await orderSummary(client.db, held);
    expect(summary).toMatchObject({ syncState: 'retrying', retryAt: first.nextAttemptAt });
    // The flush's last claim told every context when that lane may go: the schedule wakes then.
    expect((await readSyncMeta(client.db)).retryAt).toBe(first.nextAttemptAt);

    holding = false;
    // Before its backoff the lane waits; after it, the whole stream goes in order.
    expect(await engine.flush()).toMatchObject({ sent: 0 });
    clock.set(first.nextAttemptAt ?? 0);
    expect(await engine.flush()).toMatchObject({ delivered: 4, outcome: 'drained' });
    expect(laneBreaches(log)).toEqual([]);
    const heldSends = log.flatMap((entry) => entry.events.filter((event) => event.streamId === heldStream));
    expect(heldSends.map((event) => event.version)).toEqual([1, 2, 3, 1, 2, 3, 4]);
  });
});

describe('answers the client must act on', () => {
  it('a rejected event becomes a visible dead letter with the server reason and is never resent by itself', async () => {
    const { client, secondClient, clock } = setup();
    const log: PushLogEntry[] = [];
    const engine = client.engine({ transport: loggingTransport(fetch, log) });
    const orderId = await conflictingOrder(client, secondClient());
    await engine.flush();
    const dead = await listDeadLetters(client.db);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      streamType: 'order',
      id: orderId,
      version: 1,
      type: 'OrderCreated',
      deadCode: 'rejected:version_conflict',
    });
    expect(dead[0]?.lastError).toBeTruthy();
    const sends = log.length;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(60 * 60_000);
      await engine.flush({ force: true });
    }
    expect(log.length).toBe(sends);
  });

  it('a 400 turns the batch into dead letters with the server message, so the loop never spins', async () => {
    const { client } = setup();
    const orderId = await client.draftOrder(['SKU-1']);
    let requests = 0;
    server.use(
      http.post(
        `${BASE_URL}/push`,
        () => {
          requests += 1;
          return HttpResponse.json(
            { error: { code: 'invalid_envelope', message: 'clientId must be a UUID' } },
            { status: 400 },
          );
        },
        { once: true },
      ),
    );
    const engine = client.engine();
    expect(await engine.flush()).toMatchObject({ sent: 2, dead: 2, outcome: 'drained' });
    expect(requests).toBe(1);
    const dead = await listDeadLetters(client.db);
    expect(dead.map((letter) => letter.deadCode)).toEqual(['bad_request', 'bad_request']);
    expect(dead[0]?.lastError).toMatch(/clientId must be a UUID/);

    // Retrying the first entry re-queues the dead ones behind it in the same stream, same eventIds.
    const retried = await retryDeadLetter(client.db, dead[0]?.eventId ?? '');
    expect(retried.ok && retried.value).toEqual(dead.map((letter) => letter.eventId));
    expect(await engine.flush()).toMatchObject({ delivered: 2 });
    expect(await statusesOf(client, orderId)).toEqual(['delivered', 'delivered']);
  });

  it('an answer whose results do not match the batch is transient: nothing is marked', async () => {
    const { client } = setup();
    const orderId = await client.draftOrder(['SKU-1']);
    server.use(
      http.post(
        `${BASE_URL}/push`,
        async ({ request }) => {
          const body = (await request.json()) as { events: { eventId: string }[] };
          // Right shape, wrong order: trusting it would mark the wrong entry delivered.
          const results = body.events
            .map((event) => ({ eventId: event.eventId, status: 'accepted' }))
            .reverse();
          return HttpResponse.json({ protocol: 1, results, serverEvents: [] });
        },
        { once: true },
      ),
    );
    const report = await client.engine().flush();
    expect(report).toMatchObject({ delivered: 0, retrying: 2, outcome: 'transient-failure' });
    expect(await statusesOf(client, orderId)).toEqual(['pending', 'pending']);
  });

  it('gives up after maxAttempts when configured, and never by default', async () => {
    const { client, clock } = setup();
    server.use(
      http.post(`${BASE_URL}/push`, () =>
        HttpResponse.json({ error: { code: 'x', message: 'boom' } }, { status: 500 }),
      ),
    );
    const limited = client.engine({ policy: { maxAttempts: 3 } });
    await client.draftOrder(['SKU-1']);
    for (let i = 0; i < 3; i += 1) {
      await limited.flush({ force: true });
      clock.advance(1_000);
    }
    const dead = await listDeadLetters(client.db);
    expect(dead.map((letter) => letter.deadCode)).toEqual(['max_attempts', 'max_attempts']);

    const { client: patient, clock: patientClock } = setup();
    server.use(
      http.post(`${BASE_URL}/push`, () =>
        HttpResponse.json({ error: { code: 'x', message: 'boom' } }, { status: 500 }),
      ),
    );
    await patient.draftOrder(['SKU-1']);
    const engine = patient.engine();
    for (let i = 0; i < 12; i += 1) {
      await engine.flush({ force: true });
      patientClock.advance(24 * 60 * 60_000);
    }
    expect(await listDeadLetters(patient.db)).toEqual([]);
    expect((await patient.outbox()).map((row) => [row.status, row.attempts])).toEqual([
      ['pending', 12],
      ['pending', 12],
    ]);
  });

  it('gives up after maxAgeMs when configured', async () => {
    const { client, clock } = setup();
    server.use(
      http.post(`${BASE_URL}/push`, () =>
        HttpResponse.json({ error: { code: 'x', message: 'boom' } }, { status: 500 }),
      ),
    );
    await client.draftOrder(['SKU-1']);
    const engine = client.engine({ policy: { maxAgeMs: 60 * 60_000 } });
    await engine.flush();
    expect(await listDeadLetters(client.db)).toEqual([]);
    clock.advance(60 * 60_000);
    await engine.flush({ force: true });
    expect((await listDeadLetters(client.db)).map((letter) => letter.deadCode)).toEqual([
      'max_age',
      'max_age',
    ]);
  });
});
