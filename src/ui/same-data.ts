/**
 * Whether two values read from the database hold the same data: equal primitives, or arrays and plain
 * objects whose entries are the same data. A list reads its window again after every write and gets new
 * objects for rows nothing changed; a row that compares so is not drawn again. Every field counts, so a row
 * is drawn again whatever changed in it, whoever changed it.
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
