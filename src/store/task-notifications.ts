import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { Logger } from '../util/logger.js';

export const CREATED_CHANNEL = 'signet_task_created';
export const FINISHED_CHANNEL = 'signet_task_finished';
export const DELIVERIES_CHANNEL = 'signet_deliveries_due';

/**
 * Wakes waiting parties when tasks are created (idle workers) or finish (`Prefer: wait` callers).
 * In one process an EventEmitter suffices; with PostgreSQL, NOTIFY carries the event to every
 * instance so a worker elsewhere picks up new work at once and a caller waiting on instance A hears
 * that instance B finished its task. Polling remains the fallback if a notification is lost.
 */
export class TaskNotifications {
  private readonly emitter = new EventEmitter();
  private listenClient?: pg.PoolClient;
  private releaseListenClient?: () => void;
  private closed = false;
  #subscribedBefore = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool | undefined,
    private readonly log: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (!this.pool) return;
    await this.connect();
  }

  private async connect(): Promise<void> {
    this.#reconnectTimer = undefined;
    if (!this.pool || this.closed) return;
    let client: pg.PoolClient | undefined;
    let released = false;
    const release = () => {
      if (released || !client) return;
      released = true;
      if (this.listenClient === client) this.listenClient = undefined;
      // Destroyed, not returned: a connection that held LISTENs is not handed to other queries.
      client.release(true);
    };
    try {
      client = await this.pool.connect();
      client.on('notification', (message) => {
        if (message.channel === CREATED_CHANNEL) this.emitter.emit('created');
        if (message.channel === FINISHED_CHANNEL && message.payload) this.emitter.emit('finished', message.payload);
        if (message.channel === DELIVERIES_CHANNEL) this.emitter.emit('deliveries');
      });
      // A server restart ends the connection with an 'error', then 'end'; either one reconnects once.
      const lost = (error?: Error) => {
        if (released) return;
        release();
        if (this.closed) return;
        this.log.warn({ err: error?.message ?? 'connection ended' }, 'task notification connection lost; reconnecting');
        this.#reconnect(1000);
      };
      client.on('error', lost);
      client.on('end', () => lost());
      this.releaseListenClient = release;
      await client.query(`LISTEN ${CREATED_CHANNEL}; LISTEN ${FINISHED_CHANNEL}; LISTEN ${DELIVERIES_CHANNEL}`);
      if (this.closed) release();
      if (released) return;
      this.listenClient = client;
      if (this.#subscribedBefore) {
        // Whatever was notified while the connection was down is lost: every waiting party looks now.
        this.log.info({}, 'task notifications subscribed again');
        this.emitter.emit('created');
        this.emitter.emit('deliveries');
      }
      this.#subscribedBefore = true;
    } catch (error) {
      const alreadyHandled = released;
      release();
      if (alreadyHandled || this.closed) return;
      this.log.warn({ err: (error as Error).message }, 'cannot LISTEN for task notifications; polling until it can');
      this.#reconnect(this.#subscribedBefore ? 1000 : 5000);
    }
  }

  #reconnect(delayMs: number): void {
    if (this.#reconnectTimer || this.closed) return;
    this.#reconnectTimer = setTimeout(() => void this.connect(), delayMs);
    this.#reconnectTimer.unref();
  }

  async taskCreated(): Promise<void> {
    if (this.pool) await this.pool.query(`SELECT pg_notify('${CREATED_CHANNEL}', '')`).catch(() => {});
    else this.emitter.emit('created');
  }

  /**
   * A task reached a final state, in its transaction: on PostgreSQL a NOTIFY delivered at commit (never
   * for a rolled-back end) that costs no round trip of its own; in one process, nothing yet — see
   * `finishedAfterCommit`. Callers call both, whatever the store.
   */
  async finishedInTransaction(trx: Kysely<any>, taskId: string, deliveryRecorded: boolean): Promise<void> {
    if (!this.pool) return;
    await sql`SELECT pg_notify(${FINISHED_CHANNEL}, ${taskId})${deliveryRecorded ? sql`, pg_notify(${DELIVERIES_CHANNEL}, '')` : sql``}`.execute(trx);
  }

  /** After that commit: in one process, the waiting parties hear of it now (PostgreSQL's NOTIFY did it already). */
  finishedAfterCommit(taskId: string, deliveryRecorded: boolean): void {
    if (this.pool) return;
    this.emitter.emit('finished', taskId);
    if (deliveryRecorded) this.emitter.emit('deliveries');
  }

  /** A task was stored (or made PENDING again), in its transaction: as `finishedInTransaction`. */
  async createdInTransaction(trx: Kysely<any>): Promise<void> {
    if (!this.pool) return;
    await sql`SELECT pg_notify(${CREATED_CHANNEL}, '')`.execute(trx);
  }

  /** After that commit: as `finishedAfterCommit`. */
  createdAfterCommit(): void {
    if (!this.pool) this.emitter.emit('created');
  }

  /** Callbacks became due outside the normal flow (a "deliver again now" request). */
  async deliveriesDue(): Promise<void> {
    if (this.pool) await this.pool.query(`SELECT pg_notify('${DELIVERIES_CHANNEL}', '')`).catch(() => {});
    else this.emitter.emit('deliveries');
  }

  onDeliveriesDue(listener: () => void): () => void {
    this.emitter.on('deliveries', listener);
    return () => this.emitter.off('deliveries', listener);
  }

  onCreated(listener: () => void): () => void {
    this.emitter.on('created', listener);
    return () => this.emitter.off('created', listener);
  }

  onFinished(listener: (taskId: string) => void): () => void {
    this.emitter.on('finished', listener);
    return () => this.emitter.off('finished', listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.#reconnectTimer);
    this.releaseListenClient?.();
  }
}
