import { FLUSH_LOCK_NAME } from '../device/sync/flush-lock';
import type { AccountStorage, SignedIn } from '../device/sync/sign-in';
import type { IdGenerator } from '../ids';
import { err, ok, type Result } from '../result';
import {
  type AuthClientDeps,
  authBaseOf,
  checkLogin,
  login,
  logout,
  type SignInFailure,
  whoAmI,
} from './auth-client';

/**
 * Sign-in and sign-out as the page does them: the server's session, then the device's account, with no
 * flush running in between. Loaded when the sign-in form opens, or when a device with nobody signed in
 * looks for a session the browser kept; never on the first screen.
 */
export interface SessionDeps {
  /** The storage port's account part: who the device sends as (`accountStorage(database)`). */
  readonly storage: AccountStorage;
  readonly transport: typeof fetch;
  /** The sync endpoint: the auth routes are next to it. */
  readonly endpoint: string;
  /** The device's clientId: the first user to sign in here pushes under it. */
  readonly clientId: string;
  readonly ids: IdGenerator;
  readonly now: () => number;
  /** Web Locks, where there are any: held around the login so no flush sends in the middle of it. */
  readonly locks: LockManager | null;
}

export interface Session {
  /** Signs in and makes the device send as that user; resolves what changed hands on the device. */
  signIn(username: string, password: string): Promise<Result<SignedIn, SignInFailure>>;
  /** Ends the session on the server, then on the device; the device's entries stay as they are. */
  signOut(): Promise<Result<void, SignInFailure>>;
  /**
   * Asks the server whom the browser's session names (`GET /me`) and, while nobody is signed in on the
   * device, makes the device send as them, as a sign-in does. Resolves null when the device already had
   * someone signed in; a failure (no session: `invalid_credentials`) changes nothing.
   */
  resume(): Promise<Result<SignedIn | null, SignInFailure>>;
}

export function createSession(deps: SessionDeps): Session {
  const auth: AuthClientDeps = {
    transport: deps.transport,
    baseUrl: authBaseOf(deps.endpoint),
    now: deps.now,
  };
  const { storage } = deps;
  // Every flusher (tabs, the worker) holds this lock for its whole flush. Holding it while the cookie changes
  // and the device's rows change hands means no request in flight goes with one user's rows under the
  // other's session; without Web Locks the leases keep rows apart, and the server's clientId and stream
  // ownership refuse what would slip through.
  const exclusively = <T>(work: () => Promise<T>): Promise<T> =>
    deps.locks ? (deps.locks.request(FLUSH_LOCK_NAME, work) as Promise<T>) : work();
  return {
    async signIn(username, password) {
      const checked = checkLogin(username, password);
      if (!checked.ok) return checked;
      return exclusively(async () => {
        const user = await login(auth, username, password);
        if (!user.ok) return user;
        return ok(await storage.signIn({ user: user.value, deviceClientId: deps.clientId, newId: deps.ids }));
      });
    },
    async resume() {
      return exclusively(async () => {
        const user = await whoAmI(auth);
        if (!user.ok) return user;
        return ok(await storage.resume({ user: user.value, deviceClientId: deps.clientId, newId: deps.ids }));
      });
    },
    async signOut() {
      return exclusively(async () => {
        // The cookie is HttpOnly: only the server's answer clears it. Without that answer the browser still
        // holds the session, so the device does not claim to be signed out.
        const ended = await logout(auth);
        if (!ended.ok) return err(ended.error);
        await storage.signOut();
        return ok(undefined);
      });
    },
  };
}
