import { setupServer } from 'msw/node';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { createMockBackend } from '../../../src/outbox/mock/mock-backend';
import { serverStreamTypes } from '../../../src/server-plugins';
import { runProtocolContract } from '../../server/protocol-contract';

// The mock answers through msw exactly as the reference server does over the network: same suite, real fetch.
runProtocolContract('MSW mock backend without faults', async () => {
  const clock = new ManualClock();
  const backend = createMockBackend({
    streamTypes: serverStreamTypes,
    clock,
    ids: uuidv7Generator(clock),
    token: 'mock-token',
  });
  const server = setupServer(...backend.handlers);
  server.listen({ onUnhandledRequest: 'error' });
  return {
    fetch: (request) => fetch(request),
    baseUrl: 'http://outpost.test/api/sync',
    token: 'mock-token',
    cleanup: async () => {
      server.close();
      await backend.storage.close();
    },
  };
});
