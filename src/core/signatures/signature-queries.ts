import type { Readable } from 'node:stream';
import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import type { TaskInfo } from '../tasks/task-info.js';
import { getTask } from '../tasks/task-queries.js';
import { toOperationDocument, type OperationDocument } from './operation-document.js';
import { outputBlobKey } from './stage-document.js';

export interface SignatureOperation {
  task: TaskInfo;
  documents: OperationDocument[];
}

export async function getSignatureOperation(context: CoreContext, client: ClientIdentity, id: string): Promise<SignatureOperation> {
  const task = await getTask(context, client, id);
  if (task.kind !== 'sign') throw new SignetError('not_found', `No signature operation ${id} for this client service`);
  return { task, documents: (await context.store.documents.listForTask(task.id)).map(toOperationDocument) };
}

/** The newest operation holding a document with this external reference (Sign'Stash's lookup). */
export async function findNewestOperationIdByDocumentReference(context: CoreContext, client: ClientIdentity, externalReference: string): Promise<string> {
  const taskIds = await context.store.documents.findTaskIdsByDocumentReference(client.id, externalReference);
  // Task ids are UUIDv7: the greatest is the newest.
  const newest = taskIds.sort().at(-1);
  if (!newest) throw new SignetError('not_found', `No document with external reference "${externalReference}"`);
  return newest;
}

/** Status by reference: the operation with that reference, or those holding a document with it. */
export async function findSignatureOperationsByReference(
  context: CoreContext,
  client: ClientIdentity,
  externalReference: string,
): Promise<SignatureOperation[]> {
  const byOperation = await context.store.tasks.findByReference(client.id, 'sign', externalReference);
  const byDocument = await context.store.documents.findTaskIdsByDocumentReference(client.id, externalReference);
  const ids = new Set([...(byOperation ? [byOperation.id] : []), ...byDocument]);
  const operations: SignatureOperation[] = [];
  for (const id of ids) operations.push(await getSignatureOperation(context, client, id));
  return operations.sort((a, b) => (a.task.id < b.task.id ? 1 : -1));
}

export const signedContentTypes: Record<string, string> = {
  PAdES: 'application/pdf',
  XAdES: 'application/xml',
  CAdES: 'application/pkcs7-signature',
};

/** The name a signed document is offered under: CAdES adds `.p7s` to the original name. */
export function signedFileName(doc: OperationDocument): string {
  return doc.format === 'CAdES' ? `${doc.name}.p7s` : doc.name;
}

export async function openSignedDocument(
  context: CoreContext,
  client: ClientIdentity,
  operationId: string,
  documentId: string,
): Promise<{ document: OperationDocument; stream: Readable; contentType: string; size: number }> {
  const { documents } = await getSignatureOperation(context, client, operationId);
  const document = documents.find((d) => d.id === documentId);
  if (!document) throw new SignetError('not_found', `No document ${documentId} in operation ${operationId}`);
  assertNotPurged(document, operationId);
  if (document.status !== 'SIGNED') {
    throw new SignetError('document_not_signed', `Document ${documentId} is ${document.status}, not SIGNED`);
  }
  return {
    document,
    stream: context.store.blobs.createReadStream(outputBlobKey(document.id)),
    contentType: signedContentTypes[document.format] ?? 'application/octet-stream',
    size: document.signedSize ?? 0,
  };
}

export function openSignedBlob(context: CoreContext, document: OperationDocument): Readable {
  assertNotPurged(document, document.taskId);
  return context.store.blobs.createReadStream(outputBlobKey(document.id));
}

/** A signed document's bytes written to `file` (not flushed): the hot folder's outputs, without passing through JavaScript on the file store. */
export async function copySignedBlobTo(context: CoreContext, document: OperationDocument, file: string): Promise<void> {
  assertNotPurged(document, document.taskId);
  await context.store.blobs.copyTo(outputBlobKey(document.id), file);
}

/**
 * The signed documents of an operation, for a ZIP or an answer that inlines them: `410 purged` once
 * the retention deleted them, `409 document_not_signed` while none is signed.
 */
export function signedDocumentsOf({ task, documents }: SignatureOperation): OperationDocument[] {
  for (const document of documents) assertNotPurged(document, task.id);
  const signed = documents.filter((doc) => doc.status === 'SIGNED');
  if (signed.length === 0) throw new SignetError('document_not_signed', `Operation ${task.id} has no signed document (yet)`);
  return signed;
}

function assertNotPurged(document: OperationDocument, operationId: string): void {
  if (document.purgedAt != null) {
    throw new SignetError(
      'purged',
      `The documents of operation ${operationId} were deleted on ${new Date(document.purgedAt).toISOString()} after the retention period (--retention); the record remains`,
    );
  }
}
