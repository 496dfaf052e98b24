import type { DocumentRow } from '../../store/document-repository.js';
import type { DocumentStatus } from '../../store/schema.js';

export type { DocumentStatus };

/** A document of a signature operation as the core tells it: what it was, how its signing ended. */
export interface OperationDocument {
  id: string;
  taskId: string;
  position: number;
  externalReference: string | null;
  name: string;
  contentType: string;
  status: DocumentStatus;
  /** FAILED documents only (null otherwise); `internal_error` when no code was recorded. */
  error: { code: string; message: string } | null;
  format: string;
  level: string;
  size: number;
  signedSize: number | null;
  sha256: string;
  purgedAt: number | null;
}

export function toOperationDocument(row: DocumentRow): OperationDocument {
  return {
    id: row.id,
    taskId: row.task_id,
    position: row.position,
    externalReference: row.external_reference,
    name: row.name,
    contentType: row.content_type,
    status: row.status,
    error: row.status === 'FAILED' ? { code: row.error_code ?? 'internal_error', message: row.error_message ?? '' } : null,
    format: row.format,
    level: row.level,
    size: row.size,
    signedSize: row.signed_size,
    sha256: row.sha256,
    purgedAt: row.purged_at,
  };
}
