import type { Result } from '../result';
import type { CommandOutcome, CommandRequest } from './command-handler';
import type { CommandError } from './errors';
import { type CommandResult, commitGroup, type GroupCommitDeps } from './group-commit';

export interface ImportOptions {
  /**
   * Commands per transaction. A few thousand amortise the transaction's fixed cost almost fully while keeping
   * each main-thread task short enough for the page to stay responsive; 2,000 by default.
   */
  readonly chunkSize?: number;
  /** Called after each committed chunk, for a progress bar. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Imports many commands (a spreadsheet of orders, a restore) through the same decisions as typing them in:
 * each command is validated and decided on its own, in order, and gets its own result; a refused command is
 * left out and never blocks the rest. Chunks are group commits (src/outbox/client/group-commit.ts), one transaction
 * each, and the page gets the event loop back between chunks.
 */
export async function importCommands(
  deps: GroupCommitDeps,
  requests: readonly CommandRequest[],
  options: ImportOptions = {},
): Promise<Result<CommandOutcome, CommandError>[]> {
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? 2000));
  const results: CommandResult[] = [];
  for (let start = 0; start < requests.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    results.push(...(await commitGroup(deps, requests.slice(start, start + chunkSize))));
    options.onProgress?.(results.length, requests.length);
  }
  return results;
}

/** A macrotask boundary, so input, rendering and other tasks run between chunks. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
