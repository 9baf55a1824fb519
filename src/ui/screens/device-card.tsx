import { type FormEvent, useEffect, useState } from 'react';
import { Field } from '../components/field';
import { useOutpost } from '../outpost-context';

/**
 * The name other devices know this one by: their timelines say "added on Counter tablet at 14:02". Made from
 * the browser until a person names it; the server hears a new name at the next sync.
 */
export function DeviceCard() {
  const outpost = useOutpost();
  const [name, setName] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    void outpost.device().then((device) => {
      if (!live) return;
      setName(device.name);
      setSaved(device.name);
    });
    return () => {
      live = false;
    };
  }, [outpost]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    const renamed = await outpost.renameDevice(name);
    if (!renamed.ok) {
      setError(renamed.error.issues[0]?.message ?? renamed.error.message);
      return;
    }
    setError(undefined);
    setName(renamed.value);
    setSaved(renamed.value);
    setMessage(`Other devices now see this one as “${renamed.value}”.`);
  };

  return (
    <form
      className="card form"
      onSubmit={(event) => void save(event)}
      noValidate
      aria-labelledby="device-heading"
    >
      <h2 id="device-heading">This device</h2>
      <Field
        label="Device name"
        error={error}
        hint="Other devices' timelines say where a change was made by this name."
      >
        {(control) => (
          <input {...control} value={name} maxLength={80} onChange={(event) => setName(event.target.value)} />
        )}
      </Field>
      {message ? (
        <p className="muted" role="status">
          {message}
        </p>
      ) : null}
      <div className="form__actions">
        <button type="submit" className="button" disabled={saved === null || name === saved}>
          Save name
        </button>
      </div>
    </form>
  );
}
