// test/unit/sync/backoff-timeline.test.ts with every engine on the worker's plain IndexedDB implementation (see README.md).
process.env.OUTPOST_SYNC_DB = 'plain';
await import('../../sync/backoff-timeline.test');

export {};
