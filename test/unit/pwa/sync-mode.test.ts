import { describe, expect, it } from 'vitest';
import { chooseSyncMode } from '../../../src/outbox/page/sync-mode';

const capable = { search: '', storedSetting: null, hasServiceWorker: true, hasBackgroundSync: true };

describe('choosing who drives the outbox', () => {
  it('uses Background Sync where the browser has it', () => {
    expect(chooseSyncMode(capable)).toBe('background-sync');
  });

  it('falls back to the page where Background Sync or service workers are missing', () => {
    expect(chooseSyncMode({ ...capable, hasBackgroundSync: false })).toBe('fallback');
    expect(chooseSyncMode({ ...capable, hasServiceWorker: false })).toBe('fallback');
  });

  it('can be forced to the fallback by the URL or the stored setting', () => {
    expect(chooseSyncMode({ ...capable, search: '?sync=fallback' })).toBe('fallback');
    expect(chooseSyncMode({ ...capable, storedSetting: 'fallback' })).toBe('fallback');
  });
});
