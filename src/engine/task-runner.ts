import { EventEmitter } from 'node:events';
import { isSignetError } from '../errors/signet-error.js';
import { TASK_KINDS, type TaskKind } from '../store/schema.js';
import type { TaskQueue, TaskRow } from '../store/task-queue.js';
import { newLeaseOwner } from './lease-owner.js';
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

/**
 * Slots that claim only some kinds of task. Signatures are CPU and memory work, as many at once as
 * there are cores; file registrations mostly wait (on a TSA, on a flush), so two slots left the CPU
 * idle a fifth of the time and an external TSA at 100 ms would have capped them at 20/s. Each kind of
 * work gets the concurrency that suits it, and none holds up another.
 */
export interface TaskLane {
  kinds: readonly TaskKind[];
  concurrency: number;
}

export interface TaskRunnerOptions {
  queue: TaskQueue;
  handlers: Partial<Record<TaskKind, TaskHandler>>;
  /** One lane for every kind, with this many slots (when `lanes` is not given). */
  concurrency?: number;
  lanes?: readonly TaskLane[];
  leaseMs: number;
  log: Logger;
  /** Subscribes to "new work may be there" signals; returns an unsubscribe function. */
  onWake?: (wake: () => void) => () => void;
  pollIntervalMs?: number;
}

interface InFlight {
  task: TaskRow;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs tasks from the queue in lanes of slots (TaskLane). Each slot claims one task with a lease,
 * renews the lease while the handler works, and ends the task with exactly one transition.
 *
 * Shutdown has two stages: `stop()` stops claiming and lets in-flight tasks finish within the grace
 * period; after it (or on `stop({ force: true })`) the rest are aborted and released to the queue.
 */
export class TaskRunner extends EventEmitter<TaskRunnerEvents> {
  readonly owner = newLeaseOwner('tasks');
  private readonly inFlight = new Map<string, InFlight>();
  private stopping = false;
  /** Idle slots per lane. */
  private readonly idleSlots = new Map<readonly TaskKind[], Array<() => void>>();
  /** When an idle slot last did the queue's housekeeping, and the earliest due time it saw. */
  #housekeptAt = -Infinity;
  #nextRunAt: number | undefined;
  #claimsFailing = false;
  private loops: Promise<void>[] = [];
  private unsubscribe?: () => void;

  constructor(private readonly options: TaskRunnerOptions) {
    super();
    // A kind that no lane claims would wait forever: refused here rather than found in production.
    const laneKinds = new Set(options.lanes?.flatMap((lane) => lane.kinds));
    const orphan = options.lanes && options.lanes.length > 0 && Object.keys(options.handlers).find((kind) => !laneKinds.has(kind as TaskKind));
    if (orphan) throw new Error(`task kind ${orphan} has a handler but no lane`);
  }

  start(): void {
    this.unsubscribe = this.options.onWake?.(() => this.wake());
    const lanes = this.options.lanes ?? [{ kinds: TASK_KINDS, concurrency: this.options.concurrency ?? 1 }];
    for (const lane of lanes) {
      this.idleSlots.set(lane.kinds, []);
      for (let slot = 0; slot < lane.concurrency; slot++) this.loops.push(this.loop(lane.kinds));
    }
  }

  /**
   * New work may be there: one idle slot of each lane claims at once instead of at its next poll.
   * One, not all: a signal per created task woke every idle slot, and with 32 slots a registration
   * cost six empty claims. A slot that claims keeps claiming until the queue is empty.
   */
  wake(): void {
    for (const slots of this.idleSlots.values()) slots.shift()?.();
  }

  private wakeAll(): void {
    for (const [kinds, slots] of this.idleSlots) {
      this.idleSlots.set(kinds, []);
      for (const resolve of slots) resolve();
    }
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  async stop(options: { graceMs?: number; force?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.wakeAll();
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

  private async loop(kinds: readonly TaskKind[]): Promise<void> {
    let claims = 0;
    while (!this.stopping) {
      let task: TaskRow | undefined;
      try {
        task = await this.options.queue.claimNextTask(this.owner, this.options.leaseMs, { kinds, firstKind: claims++, running: this.inFlight.keys() });
        if (this.#claimsFailing) {
          this.#claimsFailing = false;
          this.options.log.info({}, 'claiming tasks works again');
        }
      } catch (error) {
        // Once per outage, not once per slot and poll (36 slots during a database restart).
        if (!this.#claimsFailing) this.options.log.error({ err: (error as Error).message }, 'claiming a task failed; retrying');
        this.#claimsFailing = true;
      }
      if (this.stopping) {
        if (task) await this.options.queue.releaseTask(task.id, this.owner).catch(() => {});
        return;
      }
      if (!task) {
        await this.idle(kinds);
        continue;
      }
      await this.run(task);
    }
  }

  private async idle(kinds: readonly TaskKind[]): Promise<void> {
    const pollMs = this.options.pollIntervalMs ?? 1000;
    // The queue's housekeeping is the runner's, not each slot's: when the workers keep up, every task
    // ends with its slot finding the queue empty, and with 32 slots these two queries per idle slot
    // cost more than the claims (bench/registrations.ts).
    if (performance.now() - this.#housekeptAt >= Math.min(250, pollMs)) {
      this.#housekeptAt = performance.now();
      await this.options.queue.failAbandonedTasks(undefined, { running: this.inFlight.keys() }).then(
        (count) => count > 0 && this.options.log.warn({ count }, 'failed tasks whose every attempt crashed its worker'),
        () => {},
      );
      this.#nextRunAt = await this.options.queue.nextRunAt().catch(() => undefined);
    }
    const untilNext = (this.#nextRunAt ?? Infinity) - currentTimeMs();
    const delay = untilNext > 0 ? Math.max(10, Math.min(pollMs, untilNext)) : pollMs;
    if (this.stopping) return;
    const slots = this.idleSlots.get(kinds)!;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const index = slots.indexOf(wake);
        if (index >= 0) slots.splice(index, 1);
        resolve();
      }, delay);
      slots.push(wake);
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
      if (await this.recorded(() => queue.completeTask(task.id, this.owner, result, undefined, { callbackUrl: task.callback_url }))) {
        this.emit('succeeded', task, currentTimeMs() - started);
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

  /**
   * A task's final transition outlives a database outage shorter than its lease: it is tried again
   * until recorded, rather than dropped and the work done again after the lease expires. Past the
   * lease another instance may hold the task, and the transition (which checks the owner) is moot.
   */
  private async recorded<T>(transition: () => Promise<T>): Promise<T> {
    const giveUpAt = performance.now() + this.options.leaseMs;
    for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 2000)) {
      try {
        return await transition();
      } catch (error) {
        const unavailable = isSignetError(error) && error.code === 'database_unavailable';
        if (!unavailable || performance.now() + delayMs > giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
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
        const runAt = currentTimeMs() + delay;
        if (await this.recorded(() => queue.retryTaskLater(task.id, this.owner, runAt, code, message))) {
          // Idle slots wake for it even if their last look at the queue was before it was scheduled.
          this.#nextRunAt = Math.min(this.#nextRunAt ?? Infinity, runAt);
          this.emit('retrying', task, delay);
        }
      } else if (await this.recorded(() => queue.failTask(task.id, this.owner, code, message))) {
        this.emit('failed', task, code);
      }
    } catch (storeError) {
      // The lease will expire and another slot will retry the task.
      log.error({ err: (storeError as Error).message, taskId: task.id }, 'recording a task failure failed');
    }
  }
}
