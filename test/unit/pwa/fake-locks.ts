/** An exclusive-only LockManager for Node: grants each name to one holder at a time, in request order. */
export function createFakeLocks() {
  const tails = new Map<string, Promise<unknown>>();
  const requested: string[] = [];
  const locks = {
    request(name: string, callback: () => Promise<unknown>): Promise<unknown> {
      requested.push(name);
      const previous = tails.get(name) ?? Promise.resolve();
      const run = previous.catch(() => undefined).then(() => callback());
      tails.set(name, run);
      return run;
    },
  };
  return { locks: locks as unknown as LockManager, requested };
}
