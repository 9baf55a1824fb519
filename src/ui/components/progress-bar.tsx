import { useId } from 'react';
import type { WorkProgress } from '../../outbox/page';

/**
 * Long work as it goes: what is happening, how far it got in counts, and a bar. A polite status, so a screen
 * reader hears what is happening without every step.
 */
export function ProgressBar({
  what,
  progress,
  unit,
}: {
  /** "Archiving", "Replaying the events stored on this device". */
  readonly what: string;
  readonly progress: WorkProgress;
  /** What is counted, plural: "events", "orders and stock counts". */
  readonly unit: string;
}) {
  const id = useId();
  const { done, total } = progress;
  return (
    <div className="progress">
      <p className="progress__text" id={id} role="status">
        {what}: {done.toLocaleString()} of {total.toLocaleString()} {unit}
      </p>
      <progress className="progress__bar" aria-labelledby={id} max={Math.max(total, 1)} value={done} />
    </div>
  );
}
