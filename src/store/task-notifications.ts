import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Logger } from '../util/logger.js';

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
    if (!this.pool || this.closed) return;
    try {
      const client = await this.pool.connect();
      client.on('notification', (message) => {
        if (message.channel === 'signet_task_created') this.emitter.emit('created');
        if (message.channel === 'signet_task_finished' && message.payload) this.emitter.emit('finished', message.payload);
        if (message.channel === 'signet_deliveries_due') this.emitter.emit('deliveries');
      });
      let released = false;
      client.on('error', (error) => {
        // Released already (closing, or a second error): the pool owns the client now.
        if (released) return;
        released = true;
        this.listenClient = undefined;
        client.release(true);
        if (this.closed) return;
        this.log.warn({ err: error.message }, 'task notification connection lost; reconnecting');
        setTimeout(() => void this.connect(), 1000).unref();
      });
      this.releaseListenClient = () => {
        if (released) return;
        released = true;
        // Destroyed, not returned: a connection that held LISTENs is not handed to other queries.
        client.release(true);
      };
      await client.query('LISTEN signet_task_created');
      await client.query('LISTEN signet_task_finished');
      await client.query('LISTEN signet_deliveries_due');
      this.listenClient = client;
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'cannot LISTEN for task notifications; polling only');
      setTimeout(() => void this.connect(), 5000).unref();
    }
  }

  async taskCreated(): Promise<void> {
    if (this.pool) await this.pool.query("SELECT pg_notify('signet_task_created', '')").catch(() => {});
    else this.emitter.emit('created');
  }

  async taskFinished(taskId: string): Promise<void> {
    if (this.pool) await this.pool.query("SELECT pg_notify('signet_task_finished', $1)", [taskId]).catch(() => {});
    else this.emitter.emit('finished', taskId);
  }

  /** Callbacks became due outside the normal flow (a "deliver again now" request). */
  async deliveriesDue(): Promise<void> {
    if (this.pool) await this.pool.query("SELECT pg_notify('signet_deliveries_due', '')").catch(() => {});
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
    const client = this.listenClient;
    this.listenClient = undefined;
    if (client) this.releaseListenClient?.();
  }
}
