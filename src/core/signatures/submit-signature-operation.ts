import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import type { SignerHash } from '../../crypto/keys/signer.js';
import {
  assertKeyAllowed,
  contentTypeForName,
  resolveSignatureOptions,
  type ResolvedSignatureOptions,
  type SignatureOptions,
} from './signature-options.js';
import { resolveCallbackUrl } from '../deliveries/resolve-callback-url.js';
import { enqueueTask, type SubmitResult } from '../tasks/enqueue-task.js';
import { readDocumentDigest, type DocumentDigest } from './hash-only-document.js';
import { discardStagedDocuments, makeStagedDocumentsDurable, type StagedDocument } from './stage-document.js';

export interface SignatureDocumentRequest {
  externalReference?: string;
  name: string;
  contentType?: string;
  signature?: SignatureOptions;
  /** With `extend`: the SHA-256 (hex) of the content a CAdES signature signs, to check it against (API.md §3 `original`). */
  originalSha256?: string;
  /** Signing a hash only (API.md §3): the content's digest instead of the content. */
  digest?: DocumentDigest;
}

/** An operation as the client describes it, without document bytes (those are staged already). */
export interface SignatureOperationRequest {
  externalReference: string;
  description?: string;
  callbackUrl?: string;
  signature?: SignatureOptions;
  documents: SignatureDocumentRequest[];
}


/**
 * Attempts before a transient failure (a TSA or HSM down) is given up: backoff grows to 5 minutes,
 * so 40 attempts keep trying for about three hours.
 */
const SIGN_MAX_ATTEMPTS = 40;

/**
 * SubmitSignatureOperation: validate, authorize the keys, then store the operation and its
 * documents in one transaction. The same reference with the same content replays the existing
 * operation; with other content it is a conflict. Staged bytes never owned by an operation are
 * removed.
 */
export async function submitSignatureOperation(
  context: CoreContext,
  client: ClientIdentity,
  request: SignatureOperationRequest,
  staged: StagedDocument[],
): Promise<SubmitResult> {
  try {
    const documents = planDocuments(context, client, request, staged);
    const callbackUrl = await resolveCallbackUrl(context, client, request.callbackUrl);
    // DESIGN invariant 1: the 202 promises the content survives a crash.
    await makeStagedDocumentsDurable(context.store, staged);
    const result = await enqueueTask(
      context,
      client,
      {
        kind: 'sign',
        externalReference: request.externalReference,
        // The request (minus reference) and each document's hash.
        identity: { request: { ...request, externalReference: undefined }, sha256: staged.map((doc) => doc.sha256) },
        requestJson: JSON.stringify({ signature: request.signature ?? null }),
        description: request.description ?? null,
        callbackUrl: callbackUrl ?? null,
        maxAttempts: SIGN_MAX_ATTEMPTS,
      },
      (taskId) => documents.map((doc) => ({ ...doc, task_id: taskId })),
    );
    if (result.replayed) await discardStagedDocuments(context.store, staged);
    return result;
  } catch (error) {
    await discardStagedDocuments(context.store, staged);
    throw error;
  }
}

function planDocuments(
  context: CoreContext,
  client: ClientIdentity,
  request: SignatureOperationRequest,
  staged: StagedDocument[],
) {
  if (request.documents.length === 0) {
    throw new SignetError('invalid_request', 'An operation needs at least one document', { field: 'documents' });
  }
  if (request.documents.length > context.maxDocuments) {
    throw new SignetError(
      'too_many_documents',
      `An operation holds at most ${context.maxDocuments} documents; split the batch (got ${request.documents.length})`,
      { field: 'documents' },
    );
  }
  if (staged.length !== request.documents.length) {
    throw new SignetError(
      'invalid_request',
      `The request lists ${request.documents.length} documents but ${staged.length} contents were sent; send one file per document, in order`,
      { field: 'files' },
    );
  }
  const knownKeys = new Set(context.keys.keys());
  return request.documents.map((doc, position) => {
    const contentType = doc.contentType ?? contentTypeForName(doc.name);
    // A digest can only be signed detached: CAdES unless the client asks otherwise (and is refused).
    const options = resolveSignatureOptions(request.signature, doc.signature, doc.digest ? 'application/octet-stream' : contentType);
    const digest = doc.digest ? checkHashOnly(doc.digest, options, position) : undefined;
    if (options.profile !== undefined && (options.format !== 'CAdES' || (options.level !== 'B-B' && options.level !== 'B-T'))) {
      throw new SignetError(
        'invalid_request',
        'profile "PAdES" makes a CAdES signature at B-B or B-T for a PDF the client builds; B-LT and B-LTA put validation data in the PDF itself: sign at B-T, embed, then send the PDF with "extend": true',
        { field: `documents[${position}].signature.profile` },
      );
    }
    if (options.extend) {
      // Extension adds validation data and time-stamps: no key signs, so none is checked.
      if (options.level !== 'B-LT' && options.level !== 'B-LTA') {
        throw new SignetError('invalid_request', `Extending raises signatures to B-LT or B-LTA, not ${options.level}`, { field: `documents[${position}].signature.level` });
      }
    } else {
      assertKeyAllowed(options.key, client.keys, knownKeys, `documents[${position}].signature.key`);
    }
    const { format, level, ...rest } = options;
    if (doc.originalSha256 !== undefined && !options.extend) {
      throw new SignetError('invalid_request', '`original` goes with "extend": true (the content of the .p7s being extended)', { field: `documents[${position}].original` });
    }
    return {
      id: staged[position].id,
      client_id: client.id,
      position,
      external_reference: doc.externalReference ?? null,
      name: doc.name,
      content_type: contentType,
      format,
      level,
      options_json: JSON.stringify({ ...rest, ...(doc.originalSha256 !== undefined && { originalSha256: doc.originalSha256 }), ...(digest && { digest }) }),
      status: 'RECEIVED' as const,
      error_code: null,
      error_message: null,
      size: staged[position].size,
      sha256: staged[position].sha256,
      signed_size: null,
      signed_at: null,
    };
  });
}

/** A hash-only document: CAdES, not an extension; B-LTA only over a SHA-256 (its archive time-stamp hashes the content with SHA-256). */
function checkHashOnly(digest: DocumentDigest, options: ResolvedSignatureOptions, position: number): { hash: SignerHash; hex: string } {
  const field = `documents[${position}].digest`;
  const checked = readDocumentDigest(digest, field);
  if (options.format !== 'CAdES' || options.extend) {
    throw new SignetError('invalid_request', `A document given by its digest is signed as a detached CAdES signature only (format "CAdES", no "extend"), not ${options.extend ? 'extended' : options.format}`, { field });
  }
  if (options.level === 'B-LTA' && checked.hash !== 'sha256') {
    throw new SignetError('invalid_request', `B-LTA over a hash needs a SHA-256 digest (the archive time-stamp covers the content's SHA-256); got ${digest.algorithm}`, { field });
  }
  return checked;
}
