import { useCallback, useEffect, useState } from 'react';
import type { Observable } from 'rxjs';
import { type CommandFeedback, feedbackOf, noFeedback } from './command-feedback';
import { useOutpost, useOutpostIds } from './outpost-context';

/** The latest value of an observable, for values the composition root owns (sync status, storage…). */
export function useObservable<T>(source: Observable<T>, initial: T): T {
  const [value, setValue] = useState<T>(initial);
  useEffect(() => {
    const subscription = source.subscribe((next) => setValue(() => next));
    return () => subscription.unsubscribe();
  }, [source]);
  return value;
}

/**
 * A command id taken when the person starts an action and kept until it succeeds: a double click, or a
 * retry after a refusal, sends the same id, and the command handler answers a repeat without writing.
 */
export function useCommandId(): readonly [string, () => void] {
  const ids = useOutpostIds();
  const [commandId, setCommandId] = useState(ids);
  const renew = useCallback(() => setCommandId(ids()), [ids]);
  return [commandId, renew];
}

export interface SubmitOptions {
  /** Runs once the command is accepted: reset the form, close the dialog, move on. */
  readonly onDone?: () => void;
}

/** What a form or button that sends one command needs: the send, whether it is in flight, and what to show. */
export interface CommandSubmit {
  /**
   * Sends `command` under the action's id. On success the feedback clears, the id is renewed for the next
   * action and `onDone` runs; on refusal the feedback says why and the id is kept, so a retry is a repeat.
   * Resolves whether the command was accepted.
   */
  readonly submit: (command: unknown, options?: SubmitOptions) => Promise<boolean>;
  readonly busy: boolean;
  readonly feedback: CommandFeedback;
  /** For checks the form makes itself before anything is sent (a product not in the catalog). */
  readonly setFeedback: (feedback: CommandFeedback) => void;
}

/**
 * The send-a-command pattern every form shares. `knownFields` are the fields the form shows messages next
 * to; `keepId` is for a form whose one command is the whole point (creating an order under an id chosen
 * when it opened), where a late repeat must still be answered as a repeat rather than sent anew.
 */
export function useCommandSubmit(
  knownFields: readonly string[],
  { keepId = false }: { readonly keepId?: boolean } = {},
): CommandSubmit {
  const { execute } = useOutpost();
  const [commandId, renew] = useCommandId();
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<CommandFeedback>(noFeedback);
  const submit = async (command: unknown, { onDone }: SubmitOptions = {}) => {
    if (busy) return false;
    setBusy(true);
    const result = await execute({ commandId, command });
    setBusy(false);
    if (!result.ok) {
      setFeedback(feedbackOf(result.error, knownFields));
      return false;
    }
    setFeedback(noFeedback);
    if (!keepId) renew();
    onDone?.();
    return true;
  };
  return { submit, busy, feedback, setFeedback };
}
