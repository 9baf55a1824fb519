/**
 * Runs async work one piece at a time, in arrival order: the next starts when the previous settled, whatever
 * its outcome. For storages whose transactions must not interleave on one connection (SQLite, memory).
 */
export function takingTurns(): <T>(work: () => Promise<T>) => Promise<T> {
  let turn: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work, work);
    turn = result.catch(() => undefined);
    return result;
  };
}
