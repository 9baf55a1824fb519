import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { AuthCrypto } from '../../outbox/server';

/**
 * scrypt's cost: N = 2^logN rounds over r-sized blocks, p times. N=2^15, r=8, p=3 is one of OWASP's
 * equivalent minimum settings; it needs 32 MiB per hash (4 at once in libuv's pool: 128 MiB) and took
 * about 240 ms here (docs/decisions.md). Stored hashes carry their own parameters, so raising these later
 * leaves existing passwords working.
 */
export interface ScryptCost {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { logN: 15, r: 8, p: 3 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const TOKEN_BYTES = 32;
// PHC string format: $scrypt$ln=15,r=8,p=3$<salt>$<hash>, both base64 without padding.
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
// Bounds on what a stored hash may ask for, so a damaged row cannot make one login allocate gigabytes.
const MAX_LOG_N = 20;
const MAX_R = 16;
const MAX_P = 16;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.logN;
  // Node refuses anything over `maxmem` (32 MiB by default, just under what N=2^15, r=8 needs).
  const maxmem = 2 * 128 * N * cost.r + 128 * cost.r * cost.p;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N, r: cost.r, p: cost.p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

function parse(passwordHash: string): { cost: ScryptCost; salt: Buffer; key: Buffer } | null {
  const match = PHC.exec(passwordHash);
  if (!match) return null;
  const [, logN, r, p, salt, key] = match;
  const cost = { logN: Number(logN), r: Number(r), p: Number(p) };
  if (
    cost.logN < 1 ||
    cost.logN > MAX_LOG_N ||
    cost.r < 1 ||
    cost.r > MAX_R ||
    cost.p < 1 ||
    cost.p > MAX_P
  ) {
    return null;
  }
  return { cost, salt: Buffer.from(salt ?? '', 'base64'), key: Buffer.from(key ?? '', 'base64') };
}

/** The reference server's secrets: scrypt for passwords, SHA-256 digests and 256-bit random tokens. */
export function createNodeAuthCrypto(cost: ScryptCost = DEFAULT_SCRYPT_COST): AuthCrypto {
  return {
    async hashPassword(password) {
      const salt = randomBytes(SALT_BYTES);
      const key = await derive(password, salt, cost);
      return `$scrypt$ln=${cost.logN},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`;
    },
    async verifyPassword(password, passwordHash) {
      const stored = parse(passwordHash);
      if (!stored || stored.key.length !== KEY_BYTES) return false;
      const key = await derive(password, stored.salt, stored.cost);
      return timingSafeEqual(key, stored.key);
    },
    newToken() {
      return randomBytes(TOKEN_BYTES).toString('base64url');
    },
    digest(token) {
      return createHash('sha256').update(token, 'utf8').digest('hex');
    },
  };
}
