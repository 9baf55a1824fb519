import { type FormEvent, useState } from 'react';
import type { SignInFailure } from '../outbox/page';
import { Dialog } from './components/dialog';
import { Field, FormAlert } from './components/field';
import { formatClock } from './format';
import { useOutpost } from './outpost-context';

interface Problems {
  readonly username?: string;
  readonly password?: string;
  readonly form: string | null;
}

const NO_PROBLEMS: Problems = { form: null };

/** A refused sign-in in the form's words: a field's error next to it, anything else above the buttons. */
function problemsOf(failure: SignInFailure, now: number): Problems {
  switch (failure.code) {
    case 'invalid_request':
      return failure.field ? { [failure.field]: failure.message, form: null } : { form: failure.message };
    case 'invalid_credentials':
      return { password: 'Wrong username or password', form: null };
    case 'rate_limited': {
      const seconds = Math.ceil(failure.retryAfterMs / 1000);
      return {
        form: `Too many failed sign-ins. Try again at ${formatClock(now + failure.retryAfterMs)} (in ${seconds} s).`,
      };
    }
    case 'unreachable':
      return { form: `The server could not be reached: nothing changed. ${failure.message}` };
    case 'server_error':
      return { form: `The server failed to sign you in (HTTP ${failure.status}): ${failure.message}` };
    default: {
      const unknownFailure: never = failure;
      return unknownFailure;
    }
  }
}

/**
 * Sign in to the sync server. Orders never need it: they wait on the device, and this only lets them go.
 * On success the dialog closes and delivery resumes without a reload.
 */
export function SignInDialog({
  onClose,
  user,
  title,
}: {
  readonly onClose: () => void;
  readonly user: string | null;
  /** "Sign in to send" while something waits for it, else "Sign in". */
  readonly title: string;
}) {
  const outpost = useOutpost();
  const [username, setUsername] = useState(user ?? '');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<Problems>(NO_PROBLEMS);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblems(NO_PROBLEMS);
    try {
      const signedIn = await outpost.signIn(username, password);
      if (signedIn.ok) {
        onClose();
        return;
      }
      setProblems(problemsOf(signedIn.error, outpost.clock.now()));
    } catch (error) {
      setProblems({ form: `Sign-in failed: ${error instanceof Error ? error.message : String(error)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={title} onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate aria-busy={busy}>
        <p className="muted">
          Everything you entered is kept on this device and goes once you are signed in.
        </p>
        <Field label="Username" error={problems.username}>
          {(control) => (
            <input
              {...control}
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              value={username}
              onChange={(event) => setUsername(event.target.value)}
            />
          )}
        </Field>
        <Field label="Password" error={problems.password}>
          {(control) => (
            <input
              {...control}
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          )}
        </Field>
        <FormAlert message={problems.form} />
        <div className="form__actions">
          <button type="button" className="button" onClick={onClose}>
            Not now
          </button>
          <button type="submit" className="button button--primary">
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
