import { randomBytes, randomUUID } from 'node:crypto';

/**
 * A shop's history on the reference server, written the way devices write it: orders pushed over HTTP in
 * batches of the protocol's size, each created, given lines and placed, and confirmed by the server. Each
 * order is `1 + lines + 1` client events and one server decision, so 10,000 orders of 7 lines are 100,000
 * events. Order ids are UUIDv7 (newest sorts last), as the app makes them.
 */

/** A UUIDv7 for moment `ms` (its first 48 bits), random otherwise. */
function uuidv7(ms) {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function orderEvents(clientId, orderId, index, lines, at) {
  const streamId = `order-${orderId}`;
  const occurredAt = new Date(at).toISOString();
  const metadata = () => ({
    commandId: randomUUID(),
    correlationId: randomUUID(),
    causationId: null,
    occurredAt,
    clientId,
  });
  const event = (version, type, data) => ({
    eventId: uuidv7(at),
    streamId,
    version,
    type,
    schemaVersion: 1,
    data,
    metadata: metadata(),
  });
  const added = Array.from({ length: lines }, (_, line) => ({
    sku: `SKU-${String(line + 1).padStart(3, '0')}`,
    name: `Product ${line + 1}`,
    quantity: 1 + ((index + line) % 5),
    unitPrice: 150 + line * 10,
  }));
  const total = added.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  return [
    event(1, 'OrderCreated', { orderId, customerName: `Customer ${index + 1}`, currency: 'EUR' }),
    ...added.map((line, offset) => event(2 + offset, 'ProductAdded', line)),
    event(lines + 2, 'OrderPlaced', { total, lineCount: lines }),
  ];
}

/** Pushes `orders` orders to the server at `base` (`http://host:port/api/sync`); resolves the events stored. */
export async function seedShop({ base, orders, lines = 7, batchEvents = 500 }) {
  const clientId = randomUUID();
  const start = Date.UTC(2026, 0, 1);
  let batch = [];
  let events = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const response = await fetch(`${base}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 1, clientId, batchId: randomUUID(), events: batch }),
    });
    const answer = await response.json();
    const refused = answer.results?.filter((result) => result.status !== 'accepted') ?? [answer];
    if (!response.ok || refused.length > 0) {
      throw new Error(`seeding the shop failed: ${response.status} ${JSON.stringify(refused[0])}`);
    }
    events += batch.length + answer.serverEvents.length;
    batch = [];
  };
  for (let index = 0; index < orders; index += 1) {
    const order = orderEvents(clientId, uuidv7(start + index * 60_000), index, lines, start + index * 60_000);
    if (batch.length + order.length > batchEvents) await flush();
    batch.push(...order);
  }
  await flush();
  return { events, orders };
}
