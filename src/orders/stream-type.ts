import { defineStreamType } from '../outbox';
import { CommandSchema, type OrderCommand } from './domain/commands';
import { decide } from './domain/decide';
import { ClientEventSchema, ServerEventSchema } from './domain/events';
import { evolve, initialOrderState } from './domain/order';
import { orderReadModels } from './read-models';
import { orderRetention } from './retention';
import { ORDER } from './stream-ids';

/**
 * The Order aggregate as a stream type: one plug-in of the outbox. Its wire format is exactly protocol v1
 * (`order-<uuid>` streams, the same event types and payloads), so an order client or server written from
 * the v1 spec sees no difference.
 */
export const orders = defineStreamType({
  name: ORDER,
  commands: CommandSchema,
  idOf: (command: OrderCommand) => command.orderId,
  events: ClientEventSchema,
  serverEvents: ServerEventSchema,
  initialState: initialOrderState,
  decide,
  evolve,
  readModels: orderReadModels,
  retention: orderRetention,
});
