import type { OrderCommand } from '../../src/orders/domain/commands';
import type { ClientOrderEvent } from '../../src/orders/domain/events';
import { evolve, initialOrderState, type OrderState, orderTotal } from '../../src/orders/domain/order';
import type { OrderLines, OrderSummary } from '../../src/orders/read-models';
import { streamIdOf } from '../../src/orders/stream-ids';
import { type IdGenerator, systemClock, uuidv7Generator } from '../../src/outbox/ids';
import type {
  CommandRow,
  DeliveryRow,
  OutboxRow,
  StoredClientEvent,
  StreamRow,
} from '../../src/outbox/storage/rows';

/**
 * Workloads shared by the product and its baselines, so both write the same orders, the same payloads and
 * (for the baselines) rows of the same shape and size as the product's.
 */

export const ids: IdGenerator = uuidv7Generator(systemClock);
export const clientId = ids();

export const createOrder = (orderId: string, n: number): OrderCommand => ({
  type: 'CreateOrder',
  orderId,
  customerName: `Customer ${n} of the benchmark`,
  currency: 'EUR',
});

/** Each addition is a new line, so an order's state, summary and detail grow the way a real order's do. */
export const addProduct = (orderId: string, line: number): OrderCommand => ({
  type: 'AddProduct',
  orderId,
  sku: `SKU-${line}`,
  name: `Product number ${line}`,
  quantity: 1 + (line % 7),
  unitPrice: 250 + line,
});

/** `orders` orders holding `eventsPerOrder` events each: one creation, then additions. */
export function seedCommands(
  orders: number,
  eventsPerOrder: number,
): { orderIds: string[]; commands: OrderCommand[] } {
  const orderIds: string[] = [];
  const commands: OrderCommand[] = [];
  for (let n = 0; n < orders; n += 1) {
    const orderId = ids();
    orderIds.push(orderId);
    commands.push(createOrder(orderId, n));
    for (let line = 1; line < eventsPerOrder; line += 1) commands.push(addProduct(orderId, line));
  }
  return { orderIds, commands };
}

/** The rows one command writes, before the event store assigns the event's position. */
export interface CommandRows {
  readonly event: StoredClientEvent;
  readonly outbox: Omit<OutboxRow, 'position'>;
  readonly command: CommandRow;
  readonly stream: StreamRow;
  readonly delivery: DeliveryRow;
  readonly summary: OrderSummary;
  readonly lines: OrderLines;
}

interface OrderModel {
  state: OrderState;
  createdAt: string;
  lines: number;
}

/**
 * Builds, ahead of the timed part, exactly the rows an Outpost command writes (event, outbox row, command
 * row with its fingerprint, stream snapshot, delivery facts, the `orders` and `orderLines` read-model rows),
 * so a baseline pays only for storing them.
 */
export class RowFactory {
  private readonly orders = new Map<string, OrderModel>();
  private tick = Date.UTC(2026, 10, 26, 12);

  next(orderId: string, nthOrder = 0): CommandRows {
    let model = this.orders.get(orderId);
    this.tick += 1;
    const occurredAt = new Date(this.tick).toISOString();
    let data: ClientOrderEvent;
    let command: OrderCommand;
    if (!model) {
      command = createOrder(orderId, nthOrder);
      if (command.type !== 'CreateOrder') throw new Error('unreachable');
      data = { type: 'OrderCreated', data: { orderId, customerName: command.customerName, currency: 'EUR' } };
      model = { state: initialOrderState, createdAt: occurredAt, lines: 0 };
      this.orders.set(orderId, model);
    } else {
      model.lines += 1;
      command = addProduct(orderId, model.lines);
      if (command.type !== 'AddProduct') throw new Error('unreachable');
      const { sku, name, quantity, unitPrice } = command;
      data = { type: 'ProductAdded', data: { sku, name, quantity, unitPrice } };
    }
    model.state = evolve(model.state, data);
    const state = model.state;
    if (state.status === 'none') throw new Error('unreachable');
    const streamId = streamIdOf(orderId);
    const eventId = ids();
    const commandId = ids();
    const event: StoredClientEvent = {
      ...data,
      kind: 'client',
      eventId,
      streamId,
      version: state.version,
      schemaVersion: 1,
      occurredAt,
      metadata: { commandId, correlationId: commandId, causationId: null, occurredAt, clientId },
    };
    return {
      event,
      outbox: {
        eventId,
        streamId,
        version: state.version,
        type: data.type,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: 0,
        lastError: null,
        deadCode: null,
        createdAt: this.tick,
      },
      command: {
        commandId,
        streamId,
        eventIds: [eventId],
        version: state.version,
        handledAt: this.tick,
        command: JSON.stringify(command),
      },
      stream: { streamId, version: state.version, state, createdAt: model.createdAt, updatedAt: occurredAt },
      delivery: {
        streamId,
        version: state.version,
        state: 'local',
        retryAt: null,
        blocked: null,
        discarded: null,
      },
      summary: {
        id: orderId,
        customerName: state.customerName,
        customerKey: state.customerName.toLowerCase(),
        currency: state.currency,
        status: state.status,
        lineCount: state.lines.length,
        total: orderTotal(state.lines),
        orderNumber: null,
        rejection: null,
        cancellationReason: null,
        copiedFrom: null,
        version: state.version,
        createdAt: model.createdAt,
        updatedAt: occurredAt,
      },
      lines: { id: orderId, lines: state.lines },
    };
  }
}
