import { openAppDb } from '../../src/app/schema';
import { streamTypes } from '../../src/plugins';
import { ask, pushBody } from './drain';
import { RowFactory, seedCommands } from './fixtures';
import { seedRows } from './setups';

/**
 * Setups for the heal-to-drained figure (bench/run.mjs `heal`), which measures the real app (the production
 * build and its service worker) on the same origin: these only put work in place before the app opens.
 */

/** Pending events in the app's own database (`outpost`), of the product's shape, before the app first runs. */
export async function healSeed({ events }: { events: number }): Promise<number> {
  const db = openAppDb({ streamTypes });
  await db.open();
  const eventsPerOrder = Math.min(20, events);
  await seedRows(db, new RowFactory(), Math.ceil(events / eventsPerOrder), eventsPerOrder);
  const pending = await db.outbox.count();
  db.close();
  return pending;
}

/**
 * Workbox's Queue with its default replay on `sync`, filled with the same events in pushes of 100 (the
 * batching Outpost uses), so only the retry schedule differs. The page stays open, as Outpost's does.
 */
export async function workboxHealFill({ events }: { events: number }): Promise<number> {
  const registration = await navigator.serviceWorker.register('/workbox-heal-sw.js', { type: 'module' });
  await navigator.serviceWorker.ready;
  const target = registration.active ?? (await navigator.serviceWorker.ready).active;
  if (!target) throw new Error('the Workbox service worker did not activate');
  const factory = new RowFactory();
  const eventsPerOrder = Math.min(20, events);
  const { orderIds } = seedCommands(Math.ceil(events / eventsPerOrder), 0);
  const all = orderIds.flatMap((orderId, n) =>
    Array.from({ length: eventsPerOrder }, () => factory.next(orderId, n).event),
  );
  const bodies: string[] = [];
  for (let at = 0; at < all.length; at += 100) bodies.push(pushBody(all.slice(at, at + 100)));
  const filled = await ask<{ size: number }>(target, { type: 'fill', url: '/api/sync/push', bodies });
  return filled.size;
}
