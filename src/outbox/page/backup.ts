import type { Clock } from '../ids';
import type { OutpostDb } from './database';

/**
 * Everything needed to recover unsent work by hand, as JSON: { exportedAt, clientId, events, outbox }, read
 * in one transaction. Loaded when the person exports, not with the first screen.
 */
export async function exportBackup(db: OutpostDb, clock: Clock, clientId: string): Promise<Blob> {
  const [events, outbox] = await db.transaction('r', db.events, db.outbox, () =>
    Promise.all([db.events.orderBy('position').toArray(), db.outbox.orderBy('position').toArray()]),
  );
  const backup = { exportedAt: new Date(clock.now()).toISOString(), clientId, events, outbox };
  return new Blob([JSON.stringify(backup, null, 2)], { type: 'application/json' });
}
