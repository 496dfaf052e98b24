import type { FastifyRequest } from 'fastify';
import { Value } from '@sinclair/typebox/value';
import type { CoreContext } from '../../core/core-context.js';
import { stageBase64Documents, UploadStager, type StagedDocument } from '../../core/signatures/stage-document.js';
import type { SignatureOperationRequest } from '../../core/signatures/submit-signature-operation.js';
import { SignetError } from '../../errors/signet-error.js';
import { jsonPointerToPath, MissingAttribute } from './errors.js';
import { toOperationRequest, type StampContext } from './request-mapping.js';
import { SignRequestDocument, type SignRequestBase64Document } from './schemas.js';
import { readJsonFilePart, signatureMultipartLimits } from '../multipart-limits.js';

export interface ReadSignstashRequest {
  request: SignatureOperationRequest;
  staged: StagedDocument[];
  returnSignedContent: boolean;
}

/** The base64 routes: each document is checked, decoded and staged one at a time. */
export async function stageBase64Request(context: CoreContext, body: SignRequestBase64Document, stamp: StampContext): Promise<ReadSignstashRequest> {
  const request = toOperationRequest(body, stamp);
  assertDocumentCount(context, request.documents.length);
  const at = (index: number) => `signDocumentRequest.documents[${index}].documentRequest.base64Content`;
  const contents = (body.documents ?? []).map((doc, index) => {
    const content = doc.documentRequest?.base64Content;
    if (content == null || content === '') throw new MissingAttribute(at(index));
    return content;
  });
  const staged = await stageBase64Documents(context.store, contents, at);
  return { request, staged, returnSignedContent: body.returnSignedContent ?? false };
}

/**
 * The multipart route: `files` parts (filename = the document name) and a `signRequest` part, in any
 * order. Files are streamed to disk while hashed; documents take the file with their name, failing
 * that the next unclaimed file in order (../shared/signstash/sign-request-multipart.md).
 */
export async function stageMultipartRequest(
  context: CoreContext,
  httpRequest: FastifyRequest,
  maxBodySize: number,
  stamp: StampContext,
): Promise<ReadSignstashRequest> {
  // Parts are staged as the v1 multipart route does (small ones written in the background); names kept in order.
  const stager = new UploadStager(context.store);
  const filenames: string[] = [];
  let body: SignRequestDocument | undefined;
  try {
    const parts = httpRequest.parts({ limits: signatureMultipartLimits(context.maxDocuments, maxBodySize) });
    for await (const part of parts) {
      if (part.fieldname === 'signRequest') {
        const value = part.type === 'file' ? await readJsonFilePart(part.file, part.fieldname) : part.value;
        body = parseSignRequestPart(value);
      } else if (part.fieldname === 'files' || part.fieldname === 'file') {
        if (part.type !== 'file') throw new SignetError('invalid_request', 'files parts must be file uploads', { field: 'files' });
        assertDocumentCount(context, stager.count + 1);
        await stager.stage(part.file);
        filenames.push(part.filename);
        if (part.file.truncated || stager.size > maxBodySize) {
          throw new SignetError('payload_too_large', `The upload exceeds the ${maxBodySize}-byte limit`);
        }
      } else if (part.type === 'file') {
        part.file.resume();
      }
    }
    if (!body) throw new MissingAttribute('signRequest');
    const files = (await stager.finish()).map((doc, index) => ({ ...doc, filename: filenames[index] }));
    const request = toOperationRequest(body, stamp);
    assertDocumentCount(context, request.documents.length);
    if (files.length !== request.documents.length) {
      throw new SignetError(
        'invalid_request',
        `signRequest lists ${request.documents.length} documents but ${files.length} files were sent; send one files part per document`,
        { field: 'files' },
      );
    }
    const unclaimed = new Set(files.keys());
    const byName = request.documents.map((doc) => {
      const index = files.findIndex((file, i) => unclaimed.has(i) && file.filename === doc.name);
      if (index >= 0) unclaimed.delete(index);
      return index;
    });
    const staged = byName.map((index) => {
      if (index >= 0) return files[index];
      const next = unclaimed.values().next().value as number;
      unclaimed.delete(next);
      return files[next];
    });
    return { request, staged: staged.map(({ id, size, sha256 }) => ({ id, size, sha256 })), returnSignedContent: body.returnSignedContent ?? false };
  } catch (error) {
    await stager.discard();
    throw error;
  }
}

function parseSignRequestPart(raw: unknown): SignRequestDocument {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new SignetError('invalid_json', `The "signRequest" part is not valid JSON: ${(error as Error).message}`, { field: 'signRequest' });
    }
  }
  if (!Value.Check(SignRequestDocument, value)) {
    const first = Value.Errors(SignRequestDocument, value).First();
    const path = `signDocumentRequest${jsonPointerToPath(first?.path ?? '')}`;
    throw new SignetError('invalid_request', `invalid ${path}: ${first?.message ?? 'is not valid'}`, { field: path });
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
