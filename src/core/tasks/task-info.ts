import type { TaskKind, TaskStatus } from '../../store/schema.js';
import type { TaskRow } from '../../store/task-queue.js';

export type { TaskKind, TaskStatus };

/** A task as the core tells it to its callers: what GetTaskInfo and a callback report, in the core's names. */
export interface TaskInfo {
  id: string;
  kind: TaskKind;
  status: TaskStatus;
  externalReference: string | null;
  description: string | null;
  host: string;
  attempts: number;
  /** Epoch milliseconds, as every time below. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** A FAILED task's cause (null unless status is FAILED and an error code was recorded). */
  error: { code: string; message: string } | null;
  /** What a finished register-file/register-url task produced (null otherwise). */
  rid: string | null;
  purgedAt: number | null;
}

export function toTaskInfo(row: TaskRow): TaskInfo {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    externalReference: row.external_reference,
    description: row.description,
    host: row.host,
    attempts: row.attempts,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.status === 'FAILED' && row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    rid: ridOfTask(row),
    purgedAt: row.purged_at,
  };
}

/** A register-* task's result_json holds its RID (RegistrationResult). */
function ridOfTask(row: TaskRow): string | null {
  if (row.kind === 'sign' || !row.result_json) return null;
  try {
    const rid = (JSON.parse(row.result_json) as { rid?: unknown }).rid;
    return typeof rid === 'string' ? rid : null;
  } catch {
    return null;
  }
}
