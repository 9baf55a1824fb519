import { useCallback, useRef, useState } from 'react';
import {
  type CommandFeedback,
  feedbackOf,
  hasFeedback,
  mergeFeedback,
  noFeedback,
  unsavedFeedback,
} from './command-feedback';
import { useOutpost, useOutpostIds } from './outpost-context';

export { useObservable } from './use-observable';

/**
 * A command id chosen when the person starts an action (the form opens), new again on `renew()`. It is
 * rendered state: right for a form whose one command keeps one id; a form that sends command after command
 * takes each id when it submits (`useCommandSubmit`), since a click can come before the next render.
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
  /**
   * A new action even when the same command is still in flight, instead of a repeat of it: a scanner that
   * reads one code twice means two of the product, where a double click on a button means one.
   */
  readonly distinct?: boolean;
}

/** What a form or button that sends commands needs: the send, whether any is under way, and what to show. */
export interface CommandSubmit {
  /**
   * Queues `command` behind the ones submitted before it and sends it in its turn. Nothing is dropped: a
   * submit while others are under way waits for them. On success `onDone` runs; on refusal the feedback
   * says why, and stays for the rest of the burst (the submits made before the queue emptied). Resolves
   * whether the command was accepted.
   */
  readonly submit: (command: unknown, options?: SubmitOptions) => Promise<boolean>;
  /** True while a submitted command waits or runs. For display only: `submit` takes commands regardless. */
  readonly busy: boolean;
  readonly feedback: CommandFeedback;
  /** For checks the form makes itself before anything is sent (a product not in the catalog). */
  readonly setFeedback: (feedback: CommandFeedback) => void;
}

/** A submitted command, from its submit until its answer: what a repeat of it is recognised by. */
interface Submission {
  readonly key: string | null;
  readonly commandId: string;
}

/** One form's submits, in click order. Mutable and outside React state: two clicks may land in one render. */
interface SubmitQueue {
  /** Settles once the last submitted command has been answered; the next one starts after it. */
  tail: Promise<unknown>;
  /** Submitted and not yet answered, in submit order. */
  readonly open: Submission[];
  /** A refusal is on show from the current burst: later successes of the burst must not clear it. */
  refusedInBurst: boolean;
}

/**
 * The send-a-command pattern every form shares. `knownFields` are the fields the form shows messages next
 * to; `keepId` is for a form whose one command is the whole point (creating an order under an id chosen
 * when it opened), where a late repeat must still be answered as a repeat rather than sent anew.
 *
 * Every other submit takes its command id when it is made, never from rendered state (a second click can
 * come before the render that follows the first): a fresh id for a new command, or the id of an identical
 * command still waiting or running, so a double click is answered as a repeat and writes once. A refused
 * command wrote nothing, so its id is not kept: sending it again, corrected or not, is a new command.
 */
export function useCommandSubmit(
  knownFields: readonly string[],
  { keepId = false }: { readonly keepId?: boolean } = {},
): CommandSubmit {
  const { execute } = useOutpost();
  const ids = useOutpostIds();
  const [formId] = useCommandId();
  const [busy, setBusy] = useState(false);
  const [feedback, setShownFeedback] = useState<CommandFeedback>(noFeedback);
  const queueRef = useRef<SubmitQueue | null>(null);
  queueRef.current ??= { tail: Promise.resolve(), open: [], refusedInBurst: false };
  const queue = queueRef.current;

  /** Shows a refusal; during a burst that already refused, next to the earlier one rather than over it. */
  const showRefusal = useCallback(
    (refusal: CommandFeedback) => {
      const keepEarlier = queue.refusedInBurst;
      if (queue.open.length > 0) queue.refusedInBurst = true;
      setShownFeedback((shown) => (keepEarlier ? mergeFeedback(shown, refusal) : refusal));
    },
    [queue],
  );

  const submit = (command: unknown, { onDone, distinct = false }: SubmitOptions = {}): Promise<boolean> => {
    // A distinct submit has no key: nothing is taken for a repeat of it, and it is a repeat of nothing.
    const key = distinct ? null : commandKey(command);
    const repeatOf = key === null ? undefined : queue.open.find((open) => open.key === key);
    const submission: Submission = { key, commandId: keepId ? formId : (repeatOf?.commandId ?? ids()) };
    queue.open.push(submission);
    setBusy(true);
    const run = queue.tail.then(async () => {
      // `execute` answers every refusal itself; it rejects only when the write side failed to load at all.
      const result = await execute({ commandId: submission.commandId, command }).catch(
        (error: unknown) => ({ ok: false, refusal: unsavedFeedback(error) }) as const,
      );
      if (!result.ok)
        showRefusal('refusal' in result ? result.refusal : feedbackOf(result.error, knownFields));
      else if (!queue.refusedInBurst) setShownFeedback(noFeedback);
      queue.open.splice(queue.open.indexOf(submission), 1);
      if (queue.open.length === 0) {
        queue.refusedInBurst = false;
        setBusy(false);
      }
      if (result.ok) onDone?.();
      return result.ok;
    });
    // A throwing `onDone` fails its own submit, never the ones queued behind it.
    queue.tail = run.catch(() => undefined);
    return run;
  };

  const setFeedback = useCallback(
    (next: CommandFeedback) => (hasFeedback(next) ? showRefusal(next) : setShownFeedback(next)),
    [showRefusal],
  );
  return { submit, busy, feedback, setFeedback };
}

/** The command as canonical JSON (keys sorted at every level): two spellings of one command match. */
function commandKey(command: unknown): string {
  return JSON.stringify(command, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}
