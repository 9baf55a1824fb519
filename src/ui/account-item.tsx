import { lazy, Suspense, useState } from 'react';
import type { SyncStatus } from '../outbox/page';
import { useOutpost, useStreamScreens } from './outpost-context';
import type { StreamScreens } from './stream-ui';

// Opened only when sync waits for a sign-in: not part of the first screen's JavaScript.
const SignInDialog = lazy(() => import('./sign-in-dialog').then((m) => ({ default: m.SignInDialog })));

/** The sign-in prompt: what is waiting for it, by what a person calls each stream. */
function signInLabel(status: SyncStatus, streams: StreamScreens): string {
  const waiting = streams.streamCountText(status.unsentStreams ?? {});
  return waiting ? `Sign in to send ${waiting}` : 'Sign in';
}

/**
 * Who the device sends as, and the way in or out: a sign-in prompt while sync waits for one, the user's
 * name and "Sign out" when signed in, "Sign in" after a sign-out. Nothing at all on a server without
 * sign-in (nobody ever signed in here, and no 401 came).
 */
export function AccountItem({ status }: { readonly status: SyncStatus }) {
  const streams = useStreamScreens();
  const outpost = useOutpost();
  const [signingIn, setSigningIn] = useState(false);
  const [signOutError, setSignOutError] = useState<string | null>(null);
  const [signingOut, setSigningOut] = useState(false);
  const signOut = async () => {
    if (signingOut) return;
    setSigningOut(true);
    setSignOutError(null);
    try {
      const ended = await outpost.signOut();
      if (!ended.ok) setSignOutError(`Not signed out: ${ended.error.message}`);
    } finally {
      setSigningOut(false);
    }
  };
  if (!status.authRequired && status.user === null && !status.signInKnown) return null;
  return (
    <span className="status-item status-item--account">
      {status.authRequired || status.user === null ? (
        <button type="button" className="button button--primary" onClick={() => setSigningIn(true)}>
          {status.authRequired ? signInLabel(status, streams) : 'Sign in'}
        </button>
      ) : (
        <>
          <span className="status-item__label">Signed in as</span> {status.user}{' '}
          <button type="button" className="button button--quiet" onClick={() => void signOut()}>
            {signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </>
      )}
      {signOutError ? (
        <span className="error-text" role="alert">
          {signOutError}
        </span>
      ) : null}
      {signingIn ? (
        <Suspense fallback={<span className="muted">Opening sign-in…</span>}>
          <SignInDialog
            user={status.user}
            title={
              status.authRequired && signInLabel(status, streams) !== 'Sign in'
                ? 'Sign in to send'
                : 'Sign in'
            }
            onClose={() => setSigningIn(false)}
          />
        </Suspense>
      ) : null}
    </span>
  );
}
