import { Field } from './field';

/** Form input to a command field: an empty box is "missing" so the schema says so, not "NaN". */
export const numberOrUndefined = (text: string): number | undefined =>
  text.trim() === '' ? undefined : Number(text);

/**
 * A whole-number box, kept as the text typed so an empty one reaches the command as missing and the
 * command's schema words the message (the browser's own range check stays off: `noValidate` forms).
 */
export function NumberField({
  label,
  error,
  value,
  onChange,
  min,
  max,
}: {
  readonly label: string;
  readonly error: string | undefined;
  readonly value: string;
  readonly onChange: (text: string) => void;
  readonly min: number;
  readonly max: number;
}) {
  return (
    <Field label={label} error={error}>
      {(control) => (
        <input
          {...control}
          className="input--qty"
          type="number"
          inputMode="numeric"
          min={min}
          max={max}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}
