import { type FormEvent, type ReactNode, useState } from 'react';
import { Dialog } from './dialog';
import { Field, FormAlert } from './field';

interface ReasonDialogProps {
  readonly title: string;
  /** The label of the reason box, which is also how tests and assistive tech find it. */
  readonly label: string;
  /** The button that closes the dialog and does nothing. */
  readonly keepLabel: string;
  readonly submitLabel: string;
  readonly busy: boolean;
  readonly reasonError: string | undefined;
  readonly message: string | null;
  readonly onSubmit: (reason: string) => void;
  readonly onClose: () => void;
  /** What the action will do, above the reason box. */
  readonly children?: ReactNode;
}

/**
 * Confirms an action that cannot be undone and asks why (cancelling an order, discarding an entry): the
 * reason is recorded with it, so the dialog holds the text and hands it over on submit.
 */
export function ReasonDialog({
  title,
  label,
  keepLabel,
  submitLabel,
  busy,
  reasonError,
  message,
  onSubmit,
  onClose,
  children,
}: ReasonDialogProps) {
  const [reason, setReason] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(reason);
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        {children}
        <Field label={label} error={reasonError}>
          {(control) => (
            <textarea
              {...control}
              rows={3}
              value={reason}
              onChange={(event) => setReason(event.target.value)}
            />
          )}
        </Field>
        <FormAlert message={message} />
        <div className="form__actions">
          <button type="button" className="button" onClick={onClose}>
            {keepLabel}
          </button>
          <button type="submit" className="button button--danger" disabled={busy}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
