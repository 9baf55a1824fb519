import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../src/outbox';
import { createCommandPipeline } from '../../src/outbox/device/commands/command-pipeline';
import { type CommandStorage, commandStorage } from '../../src/outbox/device/commands/command-storage';
import { EventBus } from '../../src/outbox/device/event-bus';
import { createSyncEngine } from '../../src/outbox/device/sync/engine';
import { initialSyncMeta } from '../../src/outbox/device/sync/sync-meta';
import { type SyncStorage, syncStorage } from '../../src/outbox/device/sync/sync-storage';
import { BASE_URL, type CoreClient, createCoreClient, createCoreServer } from './support/harness';

/**
 * The command pipeline and the sync engine reach storage only through the port they are handed: a test
 * (or another storage) hands them its own, and what they do follows what that port answers.
 */

const clock = new ManualClock();
const ids = uuidv7Generator(clock);
let client: CoreClient;

afterEach(async () => {
  await client?.close();
});

const openTally = () => ({ type: 'OpenTally', tallyId: ids(), label: 'Float' });

describe('the storage port, handed to its users', () => {
  it("gives the pipeline's commands to the port it was handed, and a failing port's refusal to the caller", async () => {
    client = createCoreClient({ clock });
    const real = commandStorage(client.db);
    const appended: number[] = [];
    let failing = false;
    const port: CommandStorage = {
      streamTypes: real.streamTypes,
      async appendCommands(request) {
        if (failing) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        const result = await real.appendCommands(request);
        appended.push(result.events.length);
        return result;
      },
    };
    const bus = new EventBus();
    const heard: string[] = [];
    bus.events$.subscribe((event) => heard.push(event.type));
    const pipeline = createCommandPipeline({ storage: port, clock, ids, clientId: ids(), bus });

    expect((await pipeline.execute({ command: openTally() })).ok).toBe(true);
    expect(appended).toEqual([1]);
    expect(heard).toEqual(['TallyOpened']);

    failing = true;
    const refused = await pipeline.execute({ command: openTally() });
    expect(refused).toMatchObject({ ok: false, error: { code: 'quota_exceeded' } });
    // Nothing reached the bus for the command the port refused, and nothing reached the database.
    expect(heard).toEqual(['TallyOpened']);
    expect(await client.db.events.count()).toBe(1);
  });

  it('leaves the engine to the port it was handed: a port that says sync waits for a sign-in sends nothing', async () => {
    client = createCoreClient({ clock });
    const server = createCoreServer({ clock });
    await client.pipeline.execute({ command: openTally() });
    const real = syncStorage(client.db);
    const calls: string[] = [];
    const port: SyncStorage = {
      ...real,
      readSyncMeta: async () => {
        calls.push('readSyncMeta');
        return { ...initialSyncMeta, authRequired: true };
      },
      claimBatch: async (request) => {
        calls.push('claimBatch');
        return real.claimBatch(request);
      },
    };
    const engine = createSyncEngine({
      storage: port,
      streamTypes: client.db.streamTypes,
      transport: server.transport,
      clock,
      ids,
      clientId: client.clientId,
      baseUrl: BASE_URL,
    });
    expect(await engine.flush()).toMatchObject({ outcome: 'auth-required', sent: 0 });
    expect(calls).toEqual(['readSyncMeta']);
    expect(server.pushes).toBe(0);

    // The same engine on the real port sends the entry.
    const sending = createSyncEngine({
      storage: real,
      streamTypes: client.db.streamTypes,
      transport: server.transport,
      clock,
      ids,
      clientId: client.clientId,
      baseUrl: BASE_URL,
    });
    expect(await sending.flush()).toMatchObject({ outcome: 'drained', delivered: 1 });
  });
});
