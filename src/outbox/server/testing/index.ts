/**
 * `@outpost/outbox/server/testing`: the contract every `ServerStorage` passes, to run against your own
 * storage with your test runner's functions. Re-exports only.
 */

export { type MakeFeedStorage, runFeedContract } from './feed-contract';
export { type MakeOutboxStorage, runOutboxContract } from './outbox-contract';
export {
  type ContractAssertion,
  type ContractTestApi,
  type MakeStorage,
  runStorageContract,
} from './storage-contract';
