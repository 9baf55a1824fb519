import { describe, expect, it } from 'vitest';
import { openAppDb } from '../../src/app/schema';
import { streamTypesOf } from '../../src/outbox/page/database';
import { deferredPlugins } from '../../src/plugin-layouts';
import { streamTypes } from '../../src/plugins';
import { serverStreamTypes } from '../../src/server-plugins';

/** The app lists its plug-ins three times, for three kinds of root; the lists must never drift apart. */
describe("the app's plug-in lists", () => {
  it('name the same stream types, in the same order, with the same tables', () => {
    const layouts = deferredPlugins.layouts.map((layout) => [layout.name, layout.tables]);
    expect(streamTypes.all.map((type) => [type.name, type.readModels.tables])).toEqual(layouts);
    expect(serverStreamTypes.all.map((type) => [type.name, type.readModels.tables])).toEqual(layouts);
  });

  it('give the server the same stream types the clients have, each with its policy', () => {
    for (const [index, type] of serverStreamTypes.all.entries()) {
      const client = streamTypes.all[index];
      expect(type.decide).toBe(client?.decide);
      expect(type.evolve).toBe(client?.evolve);
      expect(type.events).toBe(client?.events);
      expect(typeof type.server.breach).toBe('function');
    }
  });

  it("open the page's database with the layouts alone and load the stream types when asked", async () => {
    const db = openAppDb({ name: `plugins-${crypto.randomUUID()}` });
    try {
      expect(db.layouts.map((layout) => layout.name)).toEqual(['order', 'stockcount']);
      expect(() => db.streamTypes).toThrow(/still loading/);
      // Reading a list needs no stream type code.
      expect(await db.table('orders').count()).toBe(0);
      expect(await streamTypesOf(db)).toBe(streamTypes);
      expect(db.streamTypes).toBe(streamTypes);
    } finally {
      db.close();
    }
  });
});
