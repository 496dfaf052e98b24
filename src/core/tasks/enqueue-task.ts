import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import type { TaskKind } from '../../store/schema.js';
import type { NewDocument } from '../../store/task-repository.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { uuid7 } from '../../util/uuid7.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { toTaskInfo, type TaskInfo } from './task-info.js';
import { currentTimeMs } from '../../util/clock.js';

export interface NewTask {
  kind: TaskKind;
  externalReference: string | null;
  /**
   * What makes two submissions "the same" for idempotency (API.md §2): the request without its
   * reference and without bytes (content hashes instead). Hashed here in canonical form together
   * with the kind and the callback URL, so every kind compares submissions the same way.
   */
  identity: unknown;
  /** What the handler needs, as JSON (never document bytes). */
  requestJson: string;
  description: string | null;
  callbackUrl: string | null;
  maxAttempts: number;
}

export interface SubmitResult {
  task: TaskInfo;
  /** True when an earlier submission with the same reference and content is answered again. */
  replayed: boolean;
}

/**
 * Stores a new PENDING task (with its documents, in one transaction; the store wakes the workers). The
 * same externalReference with the same fingerprint replays the existing task; with another
 * fingerprint it is `409 duplicate_external_reference`. Callers remove content a replay leaves unowned.
 */
export async function enqueueTask(
  context: CoreContext,
  client: ClientIdentity,
  spec: NewTask,
  documentsFor: (taskId: string) => NewDocument[] = () => [],
): Promise<SubmitResult> {
  const fingerprint = createHash('sha256')
    .update(canonicalJson({ kind: spec.kind, callbackUrl: spec.callbackUrl, identity: spec.identity }))
    .digest('hex');
  const now = currentTimeMs();
  const id = uuid7(now);
  const { created, task } = await context.store.tasks.insertTask(
    {
      id,
      client_id: client.id,
      kind: spec.kind,
      status: 'PENDING',
      external_reference: spec.externalReference,
      request_fingerprint: fingerprint,
      request_json: spec.requestJson,
      description: spec.description,
      callback_url: spec.callbackUrl,
      host: context.host,
      attempts: 0,
      max_attempts: spec.maxAttempts,
      run_at: now,
      lease_owner: null,
      lease_until: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      error_code: null,
      error_message: null,
      result_json: null,
    },
    documentsFor(id),
  );
  if (!created) {
    if (task.request_fingerprint !== fingerprint) {
      throw new SignetError(
        'duplicate_external_reference',
        `externalReference "${spec.externalReference}" is already used by task ${task.id} with different content`,
        { field: 'externalReference' },
      );
    }
    return { task: toTaskInfo(task), replayed: true };
  }
  // Workers were told by the store, with the insert (TaskRepository.insertTask).
  return { task: toTaskInfo(task), replayed: false };
}
