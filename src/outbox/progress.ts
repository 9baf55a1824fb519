/**
 * How far a long piece of work has got (a rebuild of the read models, an archive, an export), for a progress
 * bar: what is counted is the work's own (events replayed, streams archived), said by whoever shows it.
 */
export interface WorkProgress {
  readonly done: number;
  readonly total: number;
}

/** Told after each step of the work; it must not throw, and it is never awaited. */
export type ProgressListener = (progress: WorkProgress) => void;
