// test/unit/sync/per-user.test.ts with every engine on the worker's plain IndexedDB implementation (see README.md).
process.env.OUTPOST_SYNC_DB = 'plain';
await import('../../sync/per-user.test');

export {};
