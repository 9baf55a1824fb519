import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { OUTBOX_STREAM } from '../../../src/server/node/nats-broker';

/**
 * The relay (`npm run relay`) and the consumer services (`npm run service -- <name>`) as REAL child
 * processes, so a test can `kill -9` them, with their JSON log lines.
 */
const ROOT = resolve(import.meta.dirname, '../../..');

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly logs: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a log line contains `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

function startNode(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): NodeProcess {
  const child = spawn(process.execPath, [resolve(ROOT, script), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      logs.push(...lines);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    });
  });
  return {
    child,
    logs,
    exited,
    async waitForLog(text, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!logs.some((line) => line.includes(text))) {
        if (Date.now() > deadline) throw new Error(`No log line with ${text} in:\n${logs.join('\n')}`);
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${script} exited before logging ${text}:\n${logs.join('\n')}`);
        }
        await new Promise((wait) => setTimeout(wait, 25));
      }
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export const startRelayProcess = (env: Readonly<Record<string, string>>) =>
  startNode('scripts/relay.mjs', [], env);

export const startServiceProcess = (
  name: 'notifications' | 'analytics',
  env: Readonly<Record<string, string>>,
) => startNode('scripts/service.mjs', [name], env);

/** `npm run service -- <args>` for a command that ends by itself (`replay-parked …`). */
export const runServiceCommand = (args: readonly string[], env: Readonly<Record<string, string>>) =>
  startNode('scripts/service.mjs', args, env);

export async function stopAllOutboxProcesses(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((done) => child.once('exit', done)),
    ),
  );
}

/** A message of the outbox stream as JetStream stores it. */
export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly msgId: string | undefined;
  /** Its number in its stream, from the relay's `Outpost-Stream-Seq` header; null without one. */
  readonly streamSeq: number | null;
  readonly body: { eventId: string; streamId: string; type: string; version?: number; serverSeq?: number };
}

const decoder = new TextDecoder();

/** Every message the outbox stream holds, in stream order. */
export async function streamMessages(connection: NatsConnection): Promise<StoredMessage[]> {
  const manager = await jetstreamManager(connection);
  const info = await manager.streams.info(OUTBOX_STREAM).catch(() => null);
  if (!info) return [];
  const messages: StoredMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
    const message = await manager.streams.getMessage(OUTBOX_STREAM, { seq });
    if (!message) continue;
    messages.push({
      seq,
      subject: message.subject,
      msgId: message.header.get('Nats-Msg-Id') || undefined,
      streamSeq: Number(message.header.get('Outpost-Stream-Seq')) || null,
      body: JSON.parse(decoder.decode(message.data)),
    });
  }
  return messages;
}

/** Polls `check` until it holds (or throws its last failure after `timeoutMs`): liveness without timing. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((wait) => setTimeout(wait, intervalMs));
  }
}
