import type { Clock } from '../../ids';
import { type LoginRequest, SESSION_COOKIE } from '../../protocol/auth';
import { bearerToken, type Principal, type SyncAccess } from '../access';
import type { AuthCrypto } from './auth-crypto';
import type { AuthStore } from './auth-store';
import { readCookie } from './cookies';

/**
 * Users, sessions and device tokens (`AUTH=users`): the rules, over an `AuthStore` and an `AuthCrypto`.
 *
 *   login ──▶ rate counters (per username, per address) ──▶ KDF (also for unknown names) ──▶ new session
 *   request ──▶ Authorization: Bearer <device token> ──▶ user
 *           └─▶ otherwise the session cookie ──▶ live session? (slides its expiry) ──▶ user
 */

export interface RateLimit {
  /** Attempts allowed in one window; the next one is refused until the window ends. */
  readonly max: number;
  readonly windowMs: number;
}

/** The two failed-sign-in limits; an attempt is refused when either is over. */
export interface LoginLimits {
  readonly perUsername: RateLimit;
  /** Looser: several people of one shop may sign in from one address (a NAT, a proxy). */
  readonly perAddress: RateLimit;
}

/** 5 failures a minute per username, 20 per address: the looser one lets a shop share an address. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perUsername: { max: 5, windowMs: 60_000 },
  perAddress: { max: 20, windowMs: 60_000 },
};

/** A session ends 30 days after its last use (sliding), not 30 days after sign-in. */
export const DEFAULT_SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

/** The ports `createUserAccess` works over; the store is shared by every server instance. */
export interface UserAccessOptions {
  readonly store: AuthStore;
  readonly crypto: AuthCrypto;
  /** Every expiry and rate window reads it, so a test can move time. */
  readonly clock: Clock;
  /** How long a session lives after its last use; 30 days by default. */
  readonly sessionTtlMs?: number;
  readonly limits?: LoginLimits;
}

export interface LoginContext {
  /** Where the attempt came from, for the per-address limit (`Connection.clientAddress`). */
  readonly clientAddress: string;
  /** The login request itself: the session its cookie names, if any, ends at a successful sign-in. */
  readonly request: Request;
}

export type LoginOutcome =
  | { readonly kind: 'signed_in'; readonly username: string; readonly sessionId: string }
  | { readonly kind: 'refused' }
  | { readonly kind: 'limited'; readonly retryAfterSeconds: number };

export interface UserAccess extends SyncAccess {
  /**
   * Checks a password and opens a new session. A wrong password and an unknown name are refused alike and
   * cost the same time: the KDF runs on a dummy hash when the name is unknown.
   */
  login(credentials: LoginRequest, context: LoginContext): Promise<LoginOutcome>;
  /** Ends the session the request's cookie names, if any. */
  logout(request: Request): Promise<void>;
  /** The signed-in user the request's credentials name, or null. */
  identifyUser(request: Request): Promise<string | null>;
  readonly sessionTtlMs: number;
}

/** How sign-in names are compared: phones capitalise the first letter, stored names are lowercase. */
export function normalizeUsername(typed: string): string {
  return typed.trim().toLowerCase();
}

/**
 * The sign-in rules over the given ports; also a `SyncAccess`, so a sync handler can take it as is. Starts
 * hashing a dummy password at once, so call it when the server starts, not per request.
 */
export function createUserAccess(options: UserAccessOptions): UserAccess {
  const { store, crypto, clock } = options;
  const ttl = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const limits = options.limits ?? DEFAULT_LOGIN_LIMITS;
  // Sliding expiry without a write per request: a session is moved forward at most once an hour (or every
  // 1% of a short TTL), so it ends between 99% and 100% of the TTL after its last use.
  const slideAfterMs = Math.min(ttl / 100, 3600_000);
  // Made once, up front, with the current cost, so the first unknown name is not slower than the rest.
  const dummyHash = crypto.hashPassword(crypto.newToken());
  dummyHash.catch(() => undefined);

  const sessionDigestOf = (request: Request): string | undefined => {
    const id = readCookie(request, SESSION_COOKIE);
    return id === undefined ? undefined : crypto.digest(id);
  };

  async function identifyUser(request: Request): Promise<string | null> {
    const bearer = bearerToken(request);
    // An Authorization header speaks alone: a bad token is refused, not rescued by a cookie beside it.
    if (bearer !== undefined) {
      return bearer === null ? null : ((await store.findDeviceToken(crypto.digest(bearer))) ?? null);
    }
    const digest = sessionDigestOf(request);
    if (digest === undefined) return null;
    const now = clock.now();
    const session = await store.findSession(digest, now);
    if (!session) return null;
    if (now + ttl - session.expiresAt >= slideAfterMs) await store.extendSession(digest, now + ttl);
    return session.username;
  }

  return {
    sessionTtlMs: ttl,
    identifyUser,
    async identify(request): Promise<Principal | null> {
      const user = await identifyUser(request);
      return user === null ? null : { owner: user };
    },

    async login(credentials, { clientAddress, request }) {
      const username = normalizeUsername(credentials.username);
      const now = clock.now();
      // Counted before the password is checked, so attempts racing at several instances are all counted
      // and the limit holds exactly; a success takes its attempt back, so only failures add up.
      const counters = [
        { key: `user:${username}`, limit: limits.perUsername },
        { key: `addr:${clientAddress}`, limit: limits.perAddress },
      ];
      const counts = await Promise.all(counters.map(({ key, limit }) => store.hit(key, now, limit.windowMs)));
      const waits = counts
        .map((count, index) => (count.count > (counters[index]?.limit.max ?? 0) ? count.resetAt - now : 0))
        .filter((wait) => wait > 0);
      if (waits.length > 0) {
        return { kind: 'limited', retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
      }

      const user = await store.findUser(username);
      const matches = await crypto.verifyPassword(
        credentials.password,
        user?.passwordHash ?? (await dummyHash),
      );
      if (!user || !matches) return { kind: 'refused' };

      await Promise.all(counters.map(({ key }) => store.forgive(key, now)));
      // A fresh id at every sign-in; the session this browser held before (if any) ends here.
      const previousDigest = sessionDigestOf(request);
      if (previousDigest !== undefined) await store.removeSession(previousDigest);
      const sessionId = crypto.newToken();
      const stored = await store.addSession({
        idDigest: crypto.digest(sessionId),
        username,
        createdAt: now,
        expiresAt: now + ttl,
      });
      // Removed between the password check and now.
      if (!stored) return { kind: 'refused' };
      await store.removeExpiredSessions(now);
      return { kind: 'signed_in', username, sessionId };
    },

    async logout(request) {
      const digest = sessionDigestOf(request);
      if (digest !== undefined) await store.removeSession(digest);
    },
  };
}
