/**
 * One stream, live, for a stream's screen (`@outpost/outbox/page/stream`): its read-model rows with its
 * delivery, outbox entries and events, re-read whenever any context writes them. Apart from the page entry
 * so a first screen that only lists never loads it. Re-exports only.
 */
export { liveStream, liveStreamScreen, type StreamActivity, type StreamView } from '../stream-view';
