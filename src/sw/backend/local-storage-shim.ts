/**
 * msw reads `localStorage` while its modules load, and a service worker has none: evaluation fails
 * ("ServiceWorker script evaluation failed"). This in-memory stand-in must be imported before msw.
 */
class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
}

const scope = globalThis as { localStorage?: unknown };
if (scope.localStorage === undefined) scope.localStorage = new MemoryStorage();

export {};
