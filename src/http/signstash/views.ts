import type { OperationDocument } from '../../core/signatures/operation-document.js';
import type { SignatureOperation } from '../../core/signatures/signature-queries.js';
import type { TaskInfo } from '../../core/tasks/task-info.js';
import type { OperationStatus, SignError } from './schemas.js';

/**
 * The core's operations → Sign'Stash shapes. Status: PENDING/RUNNING → PENDING_EXECUTION; SUCCEEDED →
 * EXECUTED (as in Sign'Stash, an executed operation may hold documents in ERROR_SIGNING: clients
 * read each signStatus); FAILED because every document failed on its own → EXECUTION_FAILED; FAILED
 * for any other reason (retries exhausted, internal error) → EXECUTION_ERROR; CANCELLED →
 * EXECUTION_FAILED.
 */
export function operationStatus(task: TaskInfo): OperationStatus {
  switch (task.status) {
    case 'PENDING':
    case 'RUNNING':
      return 'PENDING_EXECUTION';
    case 'SUCCEEDED':
      return 'EXECUTED';
    case 'FAILED':
      return task.error?.code === 'all_documents_failed' ? 'EXECUTION_FAILED' : 'EXECUTION_ERROR';
    default:
      return 'EXECUTION_FAILED';
  }
}

/** A document's native error code → the closest Sign'Stash `signError`. */
export function signError(code: string): SignError {
  switch (code) {
    case 'tsa_unavailable':
    case 'tsa_failed':
      return 'TIMESTAMP_SIGN_ERROR';
    case 'certificate_revoked':
    case 'certificate_expired':
      return 'INVALID_CERTIFICATE_SIGN_ERROR';
    case 'validation_data_unavailable':
      return 'CERT_SERVICE_GLOBAL_ERROR';
    case 'invalid_pdf':
    case 'encrypted_pdf':
    case 'invalid_xml':
    case 'unsupported_format':
    case 'unsupported_level':
    case 'signature_field_not_found':
    case 'placeholder_not_found':
    case 'certified_no_changes_allowed':
    case 'invalid_request':
    case 'key_not_allowed':
      return 'CONFIGURATION_SIGN_ERROR';
    default:
      return 'SIGN_OPERATION_INTERNAL_ERROR';
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function baseOperationView(task: TaskInfo, number: number, clientId: string) {
  return {
    id: number,
    type: 'SIGN' as const,
    status: operationStatus(task),
    issuerClientServiceAlias: clientId,
    creationDate: iso(task.createdAt),
    ...(task.externalReference != null && { folderExternalReference: task.externalReference }),
  };
}

/**
 * Sign'Stash's `internalId` is a number per document: the operation's number times 100,000 plus the
 * document's position + 1 (operations hold at most --max-documents, default 2,500, documents).
 */
export function documentInternalId(number: number, doc: OperationDocument): number {
  return number * 100_000 + doc.position + 1;
}

export function signOperationView(
  { task, documents }: SignatureOperation,
  number: number,
  clientId: string,
  signedContent: ReadonlyMap<string, string> = new Map(),
) {
  return {
    ...baseOperationView(task, number, clientId),
    folder: {
      folderId: String(number),
      ...(task.externalReference != null && { externalReference: task.externalReference }),
      ...(task.description != null && { description: task.description }),
      folderContent: 'DOCUMENT' as const,
    },
    documentList: documents.map((doc) => ({
      ...(doc.externalReference != null && { externalReference: doc.externalReference }),
      name: doc.name,
      contentType: doc.contentType,
      internalId: documentInternalId(number, doc),
      signStatus: doc.status === 'SIGNED' ? ('SIGNED' as const) : doc.status === 'FAILED' ? ('ERROR_SIGNING' as const) : ('RECEIVED' as const),
      ...(doc.error && { signError: signError(doc.error.code) }),
      // Signet keeps every signed document retrievable (…/documents, the native API).
      storageStatus: 'CONTENT_STORED' as const,
      cipherStatus: 'NO_CIPHER' as const,
      contentLength: doc.status === 'SIGNED' && doc.signedSize != null ? doc.signedSize : doc.size,
      receptionDate: iso(task.createdAt),
      ...(signedContent.has(doc.id) && { signedContent: signedContent.get(doc.id)! }),
    })),
    ...(task.finishedAt != null && { executionTime: task.finishedAt - task.createdAt }),
  };
}
