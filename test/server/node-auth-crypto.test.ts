import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNodeAuthCrypto, DEFAULT_SCRYPT_COST } from '../../src/server/node/node-auth-crypto';

describe('scrypt password hashes and tokens (Node)', () => {
  // Cheap parameters for the behaviour; the default cost is checked once below.
  const cheap = createNodeAuthCrypto({ logN: 10, r: 8, p: 1 });

  it('stores a salted, self-describing hash that verifies the password and nothing else', async () => {
    const hash = await cheap.hashPassword('correct horse');
    expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await cheap.hashPassword('correct horse')).not.toBe(hash);
    expect(await cheap.verifyPassword('correct horse', hash)).toBe(true);
    expect(await cheap.verifyPassword('correct horsE', hash)).toBe(false);
    expect(await cheap.verifyPassword('', hash)).toBe(false);
  });

  it('verifies a hash made with other parameters by the parameters it carries', async () => {
    const stronger = createNodeAuthCrypto({ logN: 11, r: 8, p: 2 });
    const hash = await stronger.hashPassword('pässword');
    expect(await cheap.verifyPassword('pässword', hash)).toBe(true);
    // The same text typed with a combining accent is the same password.
    expect(await cheap.verifyPassword('pa\u0308ssword', hash)).toBe(true);
  });

  it('answers false, without throwing, for a malformed or absurd stored hash', async () => {
    for (const hash of [
      '',
      'plain',
      '$scrypt$ln=40,r=8,p=1$c2FsdA$aGFzaA',
      '$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA',
    ]) {
      expect(await cheap.verifyPassword('x', hash)).toBe(false);
    }
  });

  it('uses the default cost N=2^15, r=8, p=3', async () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ logN: 15, r: 8, p: 3 });
    const crypto = createNodeAuthCrypto();
    const hash = await crypto.hashPassword('secret');
    expect(hash.startsWith('$scrypt$ln=15,r=8,p=3$')).toBe(true);
    expect(await crypto.verifyPassword('secret', hash)).toBe(true);
  });

  it('makes 256-bit URL-safe tokens and digests them with SHA-256', () => {
    const token = cheap.newToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cheap.newToken()).not.toBe(token);
    expect(cheap.digest(token)).toBe(createHash('sha256').update(token).digest('hex'));
  });
});
