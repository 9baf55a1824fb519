/**
 * The mock sync server (`@outpost/outbox/mock`): the core's real protocol server on memory storage, behind
 * switches that make it fail the way networks and servers do, for demos and tests. It runs wherever `fetch`
 * does: msw handlers for Node tests (`setupServer`) or a service worker (`getResponse`), or a plain `fetch`
 * a page or worker hands its outbox as transport. Re-exports only.
 */
export {
  createFaultControl,
  FAILURE_KINDS,
  type FailureKind,
  type FaultControl,
  type FaultSettings,
  FaultSettingsSchema,
  NO_FAULTS,
  seededRandom,
} from './faults';
export { createMockHandlers, type MockHandlersOptions, respondWithFaults } from './handlers';
export { createMockBackend, type MockBackend, type MockBackendOptions } from './mock-backend';
