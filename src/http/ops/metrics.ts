import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one process; the composition root feeds them from the runner's events. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
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
