/**
 * The secrets sign-in handles, behind a port so the core stays free of any runtime's crypto module. The
 * reference server's implementation is `src/server/node/node-auth-crypto.ts` (scrypt, SHA-256, randomBytes).
 */
export interface AuthCrypto {
  /** A memory-hard hash of the password, self-describing (algorithm, parameters, salt), safe to store. */
  hashPassword(password: string): Promise<string>;
  /**
   * Whether `password` matches `passwordHash`, compared in constant time. Must take as long for a
   * well-formed hash that does not match as for one that does; a malformed hash answers `false`.
   */
  verifyPassword(password: string, passwordHash: string): Promise<boolean>;
  /** A fresh unguessable token (at least 256 random bits), in URL- and cookie-safe characters. */
  newToken(): string;
  /**
   * A one-way digest of a token, the only form in which a store ever holds it: whoever reads the store
   * cannot sign in with what they read. A fast hash is enough because tokens are random, not chosen by people.
   */
  digest(token: string): string;
}
