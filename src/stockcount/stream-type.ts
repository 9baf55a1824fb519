import { defineStreamType } from '../outbox';
import { CommandSchema, type StockCountCommand } from './domain/commands';
import { decide } from './domain/decide';
import { ClientEventSchema, ServerEventSchema } from './domain/events';
import { evolve, initialStockCountState } from './domain/stock-count';
import { stockCountReadModels } from './read-models';
import { stockCountRetention } from './retention';
import { STOCKCOUNT } from './stream-ids';

/**
 * The stock count as a stream type: the outbox's second plug-in. Staff count a shelf where there is no
 * network, so a count is started, filled and submitted offline like an order, and the server accepts or
 * rejects it when the device is back online. Streams are `stockcount-<uuid>`.
 */
export const stockCounts = defineStreamType({
  name: STOCKCOUNT,
  commands: CommandSchema,
  idOf: (command: StockCountCommand) => command.countId,
  events: ClientEventSchema,
  serverEvents: ServerEventSchema,
  initialState: initialStockCountState,
  decide,
  evolve,
  readModels: stockCountReadModels,
  retention: stockCountRetention,
});
