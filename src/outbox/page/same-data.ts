/**
 * Whether two values read from the database hold the same data: equal primitives, or arrays and plain
 * objects whose entries are the same data. A live read gets new objects for rows nothing changed: an answer
 * that compares so is not passed on (`live-read.ts`), and a list row that compares so is not drawn again.
 * Every field counts, whoever changed it.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  for (const key of aKeys) {
    if (!Object.hasOwn(bRecord, key) || !sameData(aRecord[key], bRecord[key])) return false;
  }
  return true;
}
