import type { AuthCrypto } from '../../../src/outbox/server/auth/auth-crypto';

/**
 * A transparent stand-in for the scrypt implementation, so rule tests run in microseconds and can count
 * how often the KDF ran. Not a hash at all: only for tests.
 */
export function fakeAuthCrypto(): { crypto: AuthCrypto; calls: { hash: number; verify: number } } {
  const calls = { hash: 0, verify: 0 };
  let issued = 0;
  return {
    calls,
    crypto: {
      async hashPassword(password) {
        calls.hash += 1;
        return `fake$${password}`;
      },
      async verifyPassword(password, passwordHash) {
        calls.verify += 1;
        return passwordHash === `fake$${password}`;
      },
      newToken() {
        issued += 1;
        return `tok${issued}x${Math.random().toString(36).slice(2)}`;
      },
      digest(token) {
        return `digest:${[...token].reverse().join('')}`;
      },
    },
  };
}
