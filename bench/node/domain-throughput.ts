/**
 * Pure domain throughput in Node: validate a command, decide it against an order holding 20 events, evolve
 * the state. No storage at all, so this is the ceiling the domain puts on the write path (it is far above
 * what IndexedDB allows; see docs/performance.md). Prints one JSON line: rounds of commands per second.
 */
import { parseCommand } from '../../src/orders/domain/commands';
import { decide } from '../../src/orders/domain/decide';
import { evolve, initialOrderState, type OrderState } from '../../src/orders/domain/order';

const orderId = '0193a000-0000-7000-8000-000000000001';
const rounds = Number(process.argv[2] ?? 5);
const perRound = Number(process.argv[3] ?? 20_000);

function seeded(): OrderState {
  let state = evolve(initialOrderState, {
    type: 'OrderCreated',
    data: { orderId, customerName: 'Benchmark customer', currency: 'EUR' },
  });
  for (let line = 1; line < 20; line += 1) {
    state = evolve(state, {
      type: 'ProductAdded',
      data: { sku: `SKU-${line}`, name: `Product ${line}`, quantity: 1, unitPrice: 250 },
    });
  }
  return state;
}

function round(): number {
  let state = seeded();
  const start = performance.now();
  for (let i = 0; i < perRound; i += 1) {
    const parsed = parseCommand({
      type: 'AddProduct',
      orderId,
      sku: `SKU-${i % 19}`,
      name: 'Product',
      quantity: 1,
      unitPrice: 250,
    });
    if (!parsed.ok) throw parsed.error;
    const decision = decide(parsed.value, state);
    if (!decision.ok) {
      state = seeded();
      continue;
    }
    for (const event of decision.value) state = evolve(state, event);
  }
  return (perRound * 1000) / (performance.now() - start);
}

round();
const rates = Array.from({ length: rounds }, round);
console.log(JSON.stringify({ rates }));
