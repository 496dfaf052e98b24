import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Value } from '@sinclair/typebox/value';
import type { CoreContext } from '../../core/core-context.js';
import { withHashOnlyDocuments } from '../../core/signatures/hash-only-document.js';
import { discardStagedDocuments, stageBase64Documents, UploadStager, type StagedDocument } from '../../core/signatures/stage-document.js';
import type { SignatureOperationRequest } from '../../core/signatures/submit-signature-operation.js';
import { SignetError } from '../../errors/signet-error.js';
import { SignatureRequestPart, type SignatureRequestJson } from './schemas.js';
import { readJsonFilePart, signatureMultipartLimits } from '../multipart-limits.js';

export interface ReadSignatureRequest {
  request: SignatureOperationRequest;
  staged: StagedDocument[];
}

/** JSON body: each document's base64 content is checked, decoded and staged one at a time. */
export async function stageJsonRequest(context: CoreContext, body: SignatureRequestJson): Promise<ReadSignatureRequest> {
  const { documents, ...operation } = body;
  assertDocumentCount(context, documents.length);
  documents.forEach((doc, index) => {
    if ((doc.content === undefined) === (doc.digest === undefined)) {
      throw new SignetError('invalid_request', `documents[${index}] needs either content (base64) or digest (signing a hash only), not ${doc.content === undefined ? 'neither' : 'both'}`, {
        field: `documents[${index}]`,
      });
    }
  });
  const withContent = documents.flatMap((doc, index) => (doc.content === undefined ? [] : [{ content: doc.content, index }]));
  const contents = await stageBase64Documents(
    context.store,
    withContent.map((doc) => doc.content),
    (position) => `documents[${withContent[position].index}].content`,
  );
  let staged;
  try {
    staged = withHashOnlyDocuments(documents, contents);
  } catch (error) {
    await discardStagedDocuments(context.store, contents);
    throw error;
  }
  // An extension's `original` is only ever compared with the digest its .p7s states: its SHA-256 is kept, not its bytes.
  const requested = documents.map(({ content: _content, original, ...rest }, index) => ({
    ...rest,
    ...(original !== undefined && { originalSha256: sha256OfBase64(original, `documents[${index}].original`) }),
  }));
  return { request: { ...operation, documents: requested }, staged };
}

function sha256OfBase64(text: string, field: string): string {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0 || bytes.toString('base64').replace(/=+$/, '') !== text.replace(/\s+/g, '').replace(/=+$/, '')) {
    throw new SignetError('invalid_request', `${field} is not base64`, { field });
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * multipart/form-data: a `request` part (JSON, as a field or a file part), then one `files` part
 * per document, staged by UploadStager: small parts written in the background, large ones streamed,
 * so memory stays bounded whatever the batch size.
 */
export async function stageMultipartRequest(
  context: CoreContext,
  httpRequest: FastifyRequest,
  maxBodySize: number,
): Promise<ReadSignatureRequest> {
  const stager = new UploadStager(context.store);
  let request: SignatureOperationRequest | undefined;
  try {
    const parts = httpRequest.parts({ limits: signatureMultipartLimits(context.maxDocuments, maxBodySize) });
    for await (const part of parts) {
      if (part.fieldname === 'request') {
        // A field sent with `Content-Type: application/json` arrives already parsed.
        const value = part.type === 'file' ? await readJsonFilePart(part.file, part.fieldname) : part.value;
        request = parseRequestPart(value);
        assertDocumentCount(context, request.documents.length);
      } else if (part.fieldname === 'files' || part.fieldname === 'file') {
        if (part.type !== 'file') {
          throw new SignetError('invalid_request', 'files parts must be file uploads', { field: 'files' });
        }
        // The request part normally comes first; if it comes later the count is checked then.
        const withContent = request?.documents.filter((doc) => !doc.digest).length;
        if (withContent !== undefined && stager.count >= withContent) {
          throw new SignetError('invalid_request', `More files than the ${withContent} documents with content listed in "request"`, {
            field: 'files',
          });
        }
        await stager.stage(part.file);
        if (part.file.truncated || stager.size > maxBodySize) {
          throw new SignetError('payload_too_large', `The upload exceeds the ${maxBodySize}-byte limit`);
        }
      } else if (part.type === 'file') {
        part.file.resume();
      }
    }
    if (!request) throw new SignetError('invalid_request', 'The multipart body needs a "request" part', { field: 'request' });
    // Documents given by their digest have no files part: the files go to the others, in order.
    const contents = await stager.finish();
    try {
      return { request, staged: withHashOnlyDocuments(request.documents, contents) };
    } catch (error) {
      await discardStagedDocuments(context.store, contents);
      throw error;
    }
  } catch (error) {
    await stager.discard();
    throw error;
  }
}

function parseRequestPart(raw: unknown): SignatureOperationRequest {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new SignetError('invalid_json', `The "request" part is not valid JSON: ${(error as Error).message}`, { field: 'request' });
    }
  }
  if (!Value.Check(SignatureRequestPart, value)) {
    const first = Value.Errors(SignatureRequestPart, value).First();
    const field = (first?.path ?? '').split('/').filter(Boolean).reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
    throw new SignetError('invalid_request', `request.${field || '(root)'}: ${first?.message ?? 'is not valid'}`, {
      field: field ? `request.${field}` : 'request',
    });
  }
  return value;
}

function assertDocumentCount(context: CoreContext, count: number): void {
  if (count > context.maxDocuments) {
    throw new SignetError('too_many_documents', `An operation holds at most ${context.maxDocuments} documents (got ${count}); split the batch`, {
      field: 'documents',
    });
  }
}
