/**
 * Protocol v1's numbers, apart from its schemas so code that only needs a limit (the retry policy, which the
 * first screen's status bar reaches) does not bring valibot and every wire schema with it.
 */
export const PROTOCOL_VERSION = 1;
export const MAX_BATCH_EVENTS = 500;
export const MAX_BATCH_BYTES = 1024 * 1024;
export const MAX_PULL_EVENTS = 500;
