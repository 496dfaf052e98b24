import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { isSignetError } from '../errors/signet-error.js';
import type { TaskKind } from '../store/schema.js';
import type { TaskQueue, TaskRow } from '../store/task-queue.js';
import { uuid7 } from '../util/uuid7.js';
import type { Logger } from '../util/logger.js';
import { retryDelayMs } from './backoff.js';
import { currentTimeMs } from '../util/clock.js';

export interface TaskContext {
  task: TaskRow;
  /** The lease owner, for writes that must only happen while the lease is held. */
  owner: string;
  /** Aborted when the lease is lost or shutdown forces the task back to the queue. */
  signal: AbortSignal;
  log: Logger;
}

/** A handler must be safe to run twice: a crash after its work but before `complete` replays it. */
export type TaskHandler = (context: TaskContext) => Promise<unknown>;

/** What the runner reports; logs and metrics subscribe (graphile-worker's event habit). */
export interface TaskRunnerEvents {
  claimed: [TaskRow];
  succeeded: [TaskRow, number];
  failed: [TaskRow, string];
  retrying: [TaskRow, number];
  released: [TaskRow];
  lost: [TaskRow];
}

export interface TaskRunnerOptions {
  queue: TaskQueue;
  handlers: Partial<Record<TaskKind, TaskHandler>>;
  concurrency: number;
  leaseMs: number;
  log: Logger;
  /** Subscribes to "new work may be there" signals; returns an unsubscribe function. */
  onWake?: (wake: () => void) => () => void;
  /** Called after a task reached a final state (for `Prefer: wait` and notifications). */
  onFinished?: (task: TaskRow) => void;
  pollIntervalMs?: number;
}

interface InFlight {
  task: TaskRow;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs tasks from the queue with `concurrency` slots. Each slot claims one task with a lease,
 * renews the lease while the handler works, and ends the task with exactly one transition.
 *
 * Shutdown has two stages: `stop()` stops claiming and lets in-flight tasks finish within the grace
 * period; after it (or on `stop({ force: true })`) the rest are aborted and released to the queue.
 */
export class TaskRunner extends EventEmitter<TaskRunnerEvents> {
  readonly owner = `${hostname()}:${process.pid}:${uuid7().slice(-12)}`;
  private readonly inFlight = new Map<string, InFlight>();
  private stopping = false;
  private wakeWaiters: Array<() => void> = [];
  private loops: Promise<void>[] = [];
  private unsubscribe?: () => void;

  constructor(private readonly options: TaskRunnerOptions) {
    super();
  }

  start(): void {
    this.unsubscribe = this.options.onWake?.(() => this.wake());
    for (let slot = 0; slot < this.options.concurrency; slot++) this.loops.push(this.loop());
  }

  /** Wakes idle slots so they claim at once instead of at the next poll. */
  wake(): void {
    const waiters = this.wakeWaiters;
    this.wakeWaiters = [];
    for (const resolve of waiters) resolve();
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  async stop(options: { graceMs?: number; force?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.wake();
    const drained = Promise.all([...this.inFlight.values()].map((f) => f.done));
    if (!options.force) {
      const graceMs = options.graceMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await this.releaseAll();
    await Promise.all(this.loops);
  }

  private async releaseAll(): Promise<void> {
    const rest = [...this.inFlight.values()];
    for (const flight of rest) flight.controller.abort(new Error('shutting down'));
    await Promise.all(
      rest.map(async (flight) => {
        if (await this.options.queue.releaseTask(flight.task.id, this.owner).catch(() => false)) {
          this.emit('released', flight.task);
        }
      }),
    );
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let task: TaskRow | undefined;
      try {
        task = await this.options.queue.claimNextTask(this.owner, this.options.leaseMs);
      } catch (error) {
        this.options.log.error({ err: (error as Error).message }, 'claiming a task failed; retrying');
      }
      if (this.stopping) {
        if (task) await this.options.queue.releaseTask(task.id, this.owner).catch(() => {});
        return;
      }
      if (!task) {
        await this.idle();
        continue;
      }
      await this.run(task);
    }
  }

  private async idle(): Promise<void> {
    const pollMs = this.options.pollIntervalMs ?? 1000;
    await this.options.queue.failAbandonedTasks().then(
      (count) => count > 0 && this.options.log.warn({ count }, 'failed tasks whose every attempt crashed its worker'),
      () => {},
    );
    let delay = pollMs;
    const next = await this.options.queue.nextRunAt().catch(() => undefined);
    if (next !== undefined) delay = Math.max(10, Math.min(pollMs, next - currentTimeMs()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wakeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async run(task: TaskRow): Promise<void> {
    const controller = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.inFlight.set(task.id, { task, controller, done });
    this.emit('claimed', task);
    const { queue, leaseMs, log } = this.options;
    const heartbeat = setInterval(async () => {
      const held = await queue.renewLease(task.id, this.owner, leaseMs).catch(() => true);
      if (!held) {
        controller.abort(new Error('lease lost'));
        this.emit('lost', task);
      }
    }, Math.max(50, Math.floor(leaseMs / 3)));
    const started = currentTimeMs();
    try {
      const handler = this.options.handlers[task.kind];
      if (!handler) throw new Error(`no handler for task kind ${task.kind}`);
      const result = await handler({ task, owner: this.owner, signal: controller.signal, log });
      if (controller.signal.aborted) return;
      if (await queue.completeTask(task.id, this.owner, result)) {
        this.emit('succeeded', task, currentTimeMs() - started);
        this.options.onFinished?.(task);
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      await this.handleFailure(task, error);
    } finally {
      clearInterval(heartbeat);
      this.inFlight.delete(task.id);
      finish();
    }
  }

  private async handleFailure(task: TaskRow, error: unknown): Promise<void> {
    const { queue, log } = this.options;
    const known = isSignetError(error);
    const code = known ? error.code : 'internal_error';
    const message = known ? error.message : 'The task failed unexpectedly; it was logged for the operator';
    // Unknown errors (a database hiccup, a bug) are retried like transient ones until attempts
    // run out: retrying is harmless because handlers are idempotent.
    const retryable = !known || error.transient;
    if (!known) log.error({ err: error, taskId: task.id }, 'task handler threw unexpectedly');
    try {
      if (retryable && task.attempts < task.max_attempts) {
        const delay = retryDelayMs(task.attempts);
        if (await queue.retryTaskLater(task.id, this.owner, currentTimeMs() + delay, code, message)) {
          this.emit('retrying', task, delay);
        }
      } else if (await queue.failTask(task.id, this.owner, code, message)) {
        this.emit('failed', task, code);
        this.options.onFinished?.(task);
      }
    } catch (storeError) {
      // The lease will expire and another slot will retry the task.
      log.error({ err: (storeError as Error).message, taskId: task.id }, 'recording a task failure failed');
    }
  }
}
