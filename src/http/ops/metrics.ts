import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  /** FAILED tasks per kind across every client (the store's count), read at each scrape. */
  failedTasksByKind?: () => Promise<ReadonlyArray<{ kind: string; count: number }>>;
  /** Each signing key's certificate: expiry, state and last revocation check, read at each scrape. */
  signingKeys?: () => ReadonlyArray<{ key: string; state: string; notAfter: Date; checkedAt?: number }>;
}

/** Prometheus metrics of one process; the composition root feeds them from the runner's events. */
export function createMetrics(sources: MetricSources = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    tasksFailed: new Gauge({
      name: 'signet_tasks_failed',
      help: 'FAILED tasks in the store, by kind: the dead queue an operator retries (POST /v1/tasks/{id}/retry) once the cause is fixed',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        if (!sources.failedTasksByKind) return;
        // A scrape during a database outage keeps the last values rather than failing the whole page.
        const counts = await sources.failedTasksByKind().catch(() => undefined);
        if (!counts) return;
        this.reset();
        for (const { kind, count } of counts) this.set({ kind }, count);
      },
    }),
    signingKeyNotAfter: new Gauge({
      name: 'signet_signing_key_not_after_seconds',
      help: "When each signing key's certificate expires (Unix time)",
      labelNames: ['key'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const key of sources.signingKeys?.() ?? []) this.set({ key: key.key }, Math.floor(key.notAfter.getTime() / 1000));
      },
    }),
    signingKeyRevocationChecked: new Gauge({
      name: 'signet_signing_key_revocation_checked_seconds',
      help: "When each signing key's certificate status was last given by its CA (Unix time); absent until then",
      labelNames: ['key'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const key of sources.signingKeys?.() ?? []) if (key.checkedAt !== undefined) this.set({ key: key.key }, Math.floor(key.checkedAt / 1000));
      },
    }),
    signingKeyState: new Gauge({
      name: 'signet_signing_key_state',
      help: "1 for each signing key's certificate state: good, revoked, expired, not_yet_valid, unknown (documents wait), not_checked (no revocation source)",
      labelNames: ['key', 'state'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const key of sources.signingKeys?.() ?? []) this.set({ key: key.key, state: key.state }, 1);
      },
    }),
    registry,
    tasksFinished: new Counter({
      name: 'signet_tasks_finished_total',
      help: 'Tasks that reached a final state, by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    taskRetries: new Counter({
      name: 'signet_task_retries_total',
      help: 'Task attempts that failed transiently and were scheduled again',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    tasksRunning: new Gauge({ name: 'signet_tasks_running', help: 'Tasks running in this process', registers: [registry] }),
    verificationsInFlight: new Gauge({ name: 'signet_verifications_in_flight', help: 'POST /v1/verify requests being handled', registers: [registry] }),
    taskDuration: new Histogram({
      name: 'signet_task_duration_seconds',
      help: 'Time from claim to completion of successful tasks',
      labelNames: ['kind'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
