import { X509Certificate } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ClientIdentity, CoreContext } from '../../core/core-context.js';
import { getSignatureOperationByNumber, operationNumber } from '../../core/signatures/operation-numbers.js';
import { DEFAULT_KEY } from '../../core/signatures/signature-options.js';
import {
  findNewestOperationIdByDocumentReference,
  findSignatureOperationsByReference,
  getSignatureOperation,
  openSignedBlob,
  signedDocumentsOf,
  signedFileName,
  type SignatureOperation,
} from '../../core/signatures/signature-queries.js';
import { discardStagedDocuments } from '../../core/signatures/stage-document.js';
import { submitSignatureOperation } from '../../core/signatures/submit-signature-operation.js';
import { waitForTask } from '../../core/tasks/task-queries.js';
import { SignetError } from '../../errors/signet-error.js';
import { requireClient } from '../auth/authenticate-plugin.js';
import type { Authenticator } from '../auth/authenticator.js';
import { sendSignstashError } from './errors.js';
import { assertInlineWithinLimit, assertInlineWithinLimitBeforeSigning } from './inline-content.js';
import type { StampContext } from './request-mapping.js';
import { stageBase64Request, stageMultipartRequest, type ReadSignstashRequest } from './request-reader.js';
import {
  AsyncOperation,
  BaseOperation,
  DetailParams,
  ErrorBody,
  OperationIdParams,
  ReferenceParams,
  SignOperation,
  SignRequestBase64Document,
} from './schemas.js';
import { baseOperationView, operationStatus, signOperationView } from './views.js';
import { readAll } from '../../util/read-all.js';
import { signedDocumentsZip } from '../signed-documents-zip.js';

export interface SignstashOptions {
  context: CoreContext;
  authenticator: Authenticator;
  maxBodySize: number;
  /** Most signed bytes one answer carries inline as base64 (--max-inline-content); more is 413. */
  maxInlineContent: number;
  /** How long the synchronous routes hold the answer before answering PENDING_EXECUTION. */
  syncWaitMs?: number;
}

const DEFAULT_SYNC_WAIT_MS = 5 * 60_000;

/**
 * The Sign'Stash v0 surface (API.md §8) under /signstash/einvoice-integration-client-ws: a thin
 * adapter that maps Sign'Stash requests onto the native signature operations (same staging, same
 * submit, same engine) and answers in Sign'Stash shapes, with Sign'Stash's error body. Operations
 * are named by number (a Java Long): see core/signatures/operation-numbers.ts.
 */
export const signstashPlugin: FastifyPluginAsyncTypebox<SignstashOptions> = async (app, options) => {
  const { context, authenticator, maxBodySize, maxInlineContent } = options;
  const syncWaitMs = options.syncWaitMs ?? DEFAULT_SYNC_WAIT_MS;
  const stamp: StampContext = { signerCommonName: signerCommonName(context) };

  requireClient(app, authenticator);
  app.setErrorHandler((error, request, reply) => sendSignstashError(reply, error, request));
  app.setNotFoundHandler((request, reply) =>
    sendSignstashError(reply, new SignetError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`), request),
  );
  app.addSchema(ErrorBody);

  const errors = { 400: Type.Ref(ErrorBody), 401: Type.Ref(ErrorBody), 404: Type.Ref(ErrorBody), 409: Type.Ref(ErrorBody) };
  /** Answers that inline signed content: over --max-inline-content they are 413. */
  const inlineErrors = { ...errors, 413: Type.Ref(ErrorBody) };
  const tags = ["Sign'Stash compatibility"];

  /** Submits through the native core and names the operation by its number. */
  async function submit(client: ClientIdentity, read: ReadSignstashRequest) {
    const { task } = await submitSignatureOperation(context, client, read.request, read.staged);
    return { task, number: await operationNumber(context, client, task.id) };
  }

  async function signOperation(client: ClientIdentity, operation: SignatureOperation, includeContent: boolean) {
    const number = await operationNumber(context, client, operation.task.id);
    const contents = new Map<string, string>();
    if (includeContent) {
      assertInlineWithinLimit(operation.documents, maxInlineContent, number);
      for (const doc of operation.documents) {
        if (doc.status === 'SIGNED') contents.set(doc.id, (await readAll(openSignedBlob(context, doc))).toString('base64'));
      }
    }
    return signOperationView(operation, number, client.id, contents);
  }

  /** Sync routes: hold the answer until the operation is final (or the wait ends: PENDING_EXECUTION). */
  async function signAndWait(client: ClientIdentity, read: ReadSignstashRequest) {
    if (read.returnSignedContent) {
      try {
        assertInlineWithinLimitBeforeSigning(read.request, read.staged.map((doc) => doc.size), maxInlineContent);
      } catch (error) {
        await discardStagedDocuments(context.store, read.staged);
        throw error;
      }
    }
    const { task } = await submit(client, read);
    await waitForTask(context, client, task.id, syncWaitMs);
    return signOperation(client, await getSignatureOperation(context, client, task.id), read.returnSignedContent);
  }

  /** The newest operation with that reference (its own, or one of its documents'). */
  async function newestByReference(client: ClientIdentity, externalReference: string): Promise<SignatureOperation> {
    const [newest] = await findSignatureOperationsByReference(context, client, externalReference);
    if (!newest) throw new SignetError('not_found', `No signature operation with external reference "${externalReference}"`);
    return newest;
  }

  // Sign'Stash paths end in "/"; clients that drop it are served too.
  const both = (path: string) => [path, path.replace(/\/$/, '')];

  for (const url of both('/api/v0/document/sign/base64/')) {
    app.post(
      url,
      {
        schema: {
          summary: 'Sign documents given in base64 and answer when done (SignOperation)',
          tags,
          hide: !url.endsWith('/'),
          body: SignRequestBase64Document,
          response: { 200: SignOperation, ...errors, 413: Type.Ref(ErrorBody) },
        },
      },
      async (request) => signAndWait(request.client, await stageBase64Request(context, request.body, stamp)),
    );
  }

  for (const url of both('/api/v0/document/sign/')) {
    app.post(
      url,
      {
        schema: {
          summary: 'Sign documents sent as multipart `files` with a `signRequest` part and answer when done (SignOperation)',
          tags,
          hide: !url.endsWith('/'),
          consumes: ['multipart/form-data'],
          response: { 200: SignOperation, ...errors, 413: Type.Ref(ErrorBody), 415: Type.Ref(ErrorBody) },
        },
      },
      async (request) => {
        if (!request.isMultipart()) {
          throw new SignetError('unsupported_media_type', 'Send multipart/form-data with "files" parts and a "signRequest" part');
        }
        return signAndWait(request.client, await stageMultipartRequest(context, request, maxBodySize, stamp));
      },
    );
  }

  for (const url of both('/api/v0/async/document/sign/base64/')) {
    app.post(
      url,
      {
        schema: {
          summary: 'Sign documents given in base64; answers at once {id, status, host}',
          tags,
          hide: !url.endsWith('/'),
          body: SignRequestBase64Document,
          response: { 200: AsyncOperation, ...errors, 413: Type.Ref(ErrorBody) },
        },
      },
      async (request) => {
        const { task, number } = await submit(request.client, await stageBase64Request(context, request.body, stamp));
        return { id: number, status: operationStatus(task), host: task.host };
      },
    );
  }

  app.get(
    '/api/v0/operation/id/withDocumentExternalReference/:externalReference',
    {
      schema: {
        summary: 'The number of the newest operation holding a document with this external reference',
        tags,
        params: ReferenceParams,
        response: { 200: Type.Integer(), ...errors },
      },
    },
    async (request) => {
      const newest = await findNewestOperationIdByDocumentReference(context, request.client, request.params.externalReference);
      return operationNumber(context, request.client, newest);
    },
  );

  app.get(
    '/api/v0/operation/status/:operationId',
    {
      schema: { summary: 'Status of an operation (BaseOperation)', tags, params: OperationIdParams, response: { 200: BaseOperation, ...errors } },
    },
    async (request) => {
      const { task } = await getSignatureOperationByNumber(context, request.client, request.params.operationId);
      return baseOperationView(task, request.params.operationId, request.client.id);
    },
  );

  app.get(
    '/api/v0/operation/sign/detail/:operationId/contentInResponse/:includeContent',
    {
      schema: {
        summary: 'An operation and its documents (SignOperation), with the signed content in base64 if asked (413 above --max-inline-content: use …/documents)',
        tags,
        params: DetailParams,
        response: { 200: SignOperation, ...inlineErrors },
      },
    },
    async (request) => {
      const operation = await getSignatureOperationByNumber(context, request.client, request.params.operationId);
      return signOperation(request.client, operation, request.params.includeContent);
    },
  );

  app.get(
    '/api/v0/operation/sign/detail/:operationId/documents',
    {
      schema: {
        summary: 'ZIP of the signed documents, each named <externalReference>.<name>',
        tags,
        params: OperationIdParams,
        response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }), ...errors },
      },
    },
    async (request, reply) => {
      const operation = await getSignatureOperationByNumber(context, request.client, request.params.operationId);
      const signed = signedDocumentsOf(operation);
      // Sign'Stash names entries <externalRef>.<name>.
      const zip = signedDocumentsZip(
        signed,
        (doc) => openSignedBlob(context, doc),
        (doc) => (doc.externalReference != null ? `${doc.externalReference}.${signedFileName(doc)}` : signedFileName(doc)),
      );
      return reply
        .type('application/zip')
        .header('Content-Disposition', `attachment; filename="${request.params.operationId}.zip"`)
        .send(zip);
    },
  );

  app.get(
    '/api/v0/async/operation/status/withExternalReference/:externalReference',
    {
      schema: {
        summary: 'Status (BaseOperation) of the newest operation with this external reference (its own or a document\'s)',
        tags,
        params: ReferenceParams,
        response: { 200: BaseOperation, ...errors },
      },
    },
    async (request) => {
      const { task } = await newestByReference(request.client, request.params.externalReference);
      return baseOperationView(task, await operationNumber(context, request.client, task.id), request.client.id);
    },
  );

  app.get(
    '/api/v0/async/operation/detail/withExternalReference/:externalReference',
    {
      schema: {
        summary: 'The newest operation with this external reference (SignOperation), with every signed document in base64 (413 above --max-inline-content)',
        tags,
        params: ReferenceParams,
        response: { 200: SignOperation, ...inlineErrors },
      },
    },
    async (request) => signOperation(request.client, await newestByReference(request.client, request.params.externalReference), true),
  );
};

/** The default key's common name, for `$certificate.getCommonName()` in stamp templates. */
function signerCommonName(context: CoreContext): string {
  const der = context.keys.get(DEFAULT_KEY)?.certificateDer;
  if (!der) return '';
  const subject = new X509Certificate(der).subject;
  return /^CN=(.*)$/m.exec(subject)?.[1] ?? subject;
}

