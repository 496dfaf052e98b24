import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { CoreContext } from '../../core/core-context.js';
import {
  findSignatureOperationsByReference,
  getSignatureOperation,
  openSignedBlob,
  openSignedDocument,
  signedDocumentsOf,
  signedFileName,
} from '../../core/signatures/signature-queries.js';
import { submitSignatureOperation } from '../../core/signatures/submit-signature-operation.js';
import { signedDocumentsZip } from '../signed-documents-zip.js';
import { stageJsonRequest, stageMultipartRequest } from './signature-request-reader.js';
import {
  DocumentParams,
  OperationIdParams,
  Problem,
  ReferenceQuery,
  SignatureOperation,
  SignatureOperationList,
  SignatureRequestJson,
  Task,
} from './schemas.js';
import { answerSubmission } from './submission-answer.js';
import { signatureOperationView } from './views.js';

export interface SignaturesRoutesOptions {
  context: CoreContext;
  maxBodySize: number;
}

/** Signature operations (API.md §3): submit, read, look up by reference, download. */
export const signaturesRoutes: FastifyPluginAsyncTypebox<SignaturesRoutesOptions> = async (app, { context, maxBodySize }) => {
  app.post(
    '/signatures',
    {
      schema: {
        summary: 'Submit a signature operation (JSON with base64 content, or multipart: `request` then `files` parts)',
        tags: ['signatures'],
        headers: Type.Object({ prefer: Type.Optional(Type.String({ description: 'wait=N (seconds, ≤ 60) for a synchronous answer' })) }),
        body: {
          content: {
            'application/json': { schema: SignatureRequestJson },
            'multipart/form-data': { schema: Type.Any({ description: '`request` (JSON without content) then one `files` part per document' }) },
          },
        },
        response: {
          200: Type.Union([Type.Ref(SignatureOperation), Type.Ref(Task)], {
            description: 'Finished within Prefer: wait (the operation), or an idempotent replay (the task)',
          }),
          202: Type.Ref(Task),
          400: Type.Ref(Problem),
          409: Type.Ref(Problem),
          413: Type.Ref(Problem),
        },
      },
    },
    async (request, reply) => {
      const read = request.isMultipart()
        ? await stageMultipartRequest(context, request, maxBodySize)
        : await stageJsonRequest(context, request.body as SignatureRequestJson);
      const submitted = await submitSignatureOperation(context, request.client, read.request, read.staged);
      return answerSubmission(context, request, reply, submitted, async (task) =>
        signatureOperationView(await getSignatureOperation(context, request.client, task.id)),
      );
    },
  );

  app.get(
    '/signatures/:id',
    {
      schema: {
        summary: 'A signature operation and its documents',
        tags: ['signatures'],
        params: OperationIdParams,
        response: { 200: Type.Ref(SignatureOperation), 404: Type.Ref(Problem) },
      },
    },
    async (request) => signatureOperationView(await getSignatureOperation(context, request.client, request.params.id)),
  );

  app.get(
    '/signatures',
    {
      schema: {
        summary: 'Operations with an external reference (of the operation or of one of its documents)',
        tags: ['signatures'],
        querystring: ReferenceQuery,
        response: { 200: SignatureOperationList },
      },
    },
    async (request) => {
      const operations = await findSignatureOperationsByReference(context, request.client, request.query.externalReference);
      return { items: operations.map(signatureOperationView) };
    },
  );

  app.get(
    '/signatures/:id/documents/:docId/content',
    {
      schema: {
        summary: 'The signed bytes of one document',
        tags: ['signatures'],
        params: DocumentParams,
        response: { 200: Binary('The signed document'), 404: Type.Ref(Problem), 409: Type.Ref(Problem), 410: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const { document, stream, contentType, size } = await openSignedDocument(
        context,
        request.client,
        request.params.id,
        request.params.docId,
      );
      return reply
        .type(contentType)
        .header('Content-Length', String(size))
        .header('Content-Disposition', contentDisposition(signedFileName(document)))
        .send(stream);
    },
  );

  app.get(
    '/signatures/:id/documents.zip',
    {
      schema: {
        summary: 'Every signed document of the operation as a ZIP, streamed',
        tags: ['signatures'],
        params: OperationIdParams,
        response: { 200: Binary('ZIP of the signed documents'), 404: Type.Ref(Problem), 409: Type.Ref(Problem), 410: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const operation = await getSignatureOperation(context, request.client, request.params.id);
      const signed = signedDocumentsOf(operation);
      const zip = signedDocumentsZip(signed, (doc) => openSignedBlob(context, doc), signedFileName);
      return reply
        .type('application/zip')
        .header('Content-Disposition', contentDisposition(`${operation.task.externalReference ?? operation.task.id}.zip`))
        .send(zip);
    },
  );
};

function Binary(description: string) {
  return Type.Unsafe<unknown>({ type: 'string', format: 'binary', description });
}

function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
