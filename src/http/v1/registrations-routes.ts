import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import type { CoreContext } from '../../core/core-context.js';
import { registrationCertificate } from '../../core/registrations/certificate-pdf.js';
import { evidencePackage, timestampReply } from '../../core/registrations/evidence-package.js';
import type { Registration as CoreRegistration } from '../../core/registrations/registration.js';
import {
  findRegistrationsByHash,
  getRegistration,
  openRegisteredContent,
  openSnapshot,
} from '../../core/registrations/registration-queries.js';
import { publicBaseUrl } from '../../core/registrations/registration-settings.js';
import { contentStagingSink, discardContent, stageContent, type StagedContent } from '../../core/registrations/stage-content.js';
import { submitFileRegistration, type FileRegistrationRequest } from '../../core/registrations/submit-file-registration.js';
import { submitUrlRegistration } from '../../core/registrations/submit-url-registration.js';
import { SignetError } from '../../errors/signet-error.js';
import type { TaskInfo } from '../../core/tasks/task-info.js';
import { registrationObjectView } from '../registration-object-view.js';
import { Problem, Task } from './schemas.js';
import { iso } from './views.js';
import { answerSubmission } from './submission-answer.js';

const Text = (maxLength: number) => Type.String({ maxLength });

const RegistrationFields = {
  userId: Type.String({ minLength: 1, maxLength: 200, description: 'The user’s id in the client system' }),
  userEmail: Type.String({ minLength: 3, maxLength: 254 }),
  title: Type.Optional(Text(500)),
  description: Type.Optional(Text(5000)),
  externalReference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  callbackUrl: Type.Optional(Text(2000)),
};

export const FileRegistrationJson = Type.Object(
  {
    ...RegistrationFields,
    content: Type.String({ description: 'The file, base64' }),
    name: Type.Optional(Text(500)),
    contentType: Type.Optional(Text(200)),
  },
  { additionalProperties: false },
);
type FileRegistrationJson = typeof FileRegistrationJson.static;

export const UrlRegistrationJson = Type.Object(
  { ...RegistrationFields, url: Type.String({ minLength: 1, maxLength: 2000, description: 'http or https URL of the page to capture' }) },
  { additionalProperties: false },
);

export const Registration = Type.Object(
  {
    rid: Type.String(),
    status: Type.Literal('REGISTERED'),
    registeredAt: Type.String({ format: 'date-time', description: 'The time-stamp token’s genTime' }),
    kind: Type.Union([Type.Literal('file'), Type.Literal('url')]),
    title: Type.Union([Type.String(), Type.Null()]),
    description: Type.Union([Type.String(), Type.Null()]),
    user: Type.Object({ userId: Type.String(), email: Type.String() }),
    object: Type.Object({
      name: Type.String(),
      url: Type.Optional(Type.String()),
      contentType: Type.String(),
      size: Type.Integer(),
      sha1: Type.String(),
      sha256: Type.String(),
    }),
    proof: Type.Object({ hashAlgorithm: Type.String(), timestampToken: Type.String({ description: 'base64 DER' }), tsa: Type.String() }),
    capture: Type.Optional(
      Type.Object({
        finalUrl: Type.String(),
        redirects: Type.Array(Type.String()),
        statusCode: Type.Integer(),
        headers: Type.String({ description: 'Status line and response headers as received' }),
        headersTimestampToken: Type.String({ description: 'RFC 3161 token (base64 DER) over SHA-256 of `headers`' }),
        snapshot: Type.Optional(
          Type.Object({
            pdf: Type.Object({ size: Type.Integer(), sha256: Type.String(), timestampToken: Type.String() }),
            png: Type.Object({ size: Type.Integer(), sha256: Type.String(), timestampToken: Type.String() }),
          }),
        ),
        snapshotError: Type.Optional(Type.String()),
      }),
    ),
    links: Type.Record(Type.String(), Type.String()),
  },
  { $id: 'Registration' },
);

const RidParams = Type.Object({ rid: Type.String({ maxLength: 64 }) });
const HashQuery = Type.Object({
  sha1: Type.Optional(Type.String({ maxLength: 40 })),
  sha256: Type.Optional(Type.String({ maxLength: 64 })),
});
const HashCheck = Type.Object({
  registered: Type.Boolean(),
  registrations: Type.Array(Type.Object({ rid: Type.String(), registeredAt: Type.String({ format: 'date-time' }), userId: Type.String() })),
});

export interface RegistrationsRoutesOptions {
  context: CoreContext;
  maxBodySize: number;
}

/** Registrations (API.md §4): submit a file, read, check by hash, download content, token and evidence. */
export const registrationsRoutes: FastifyPluginAsyncTypebox<RegistrationsRoutesOptions> = async (app, { context, maxBodySize }) => {
  /** A registration task that finished within Prefer: wait answers with its registration. */
  const finishedRegistration = (request: FastifyRequest) => async (task: TaskInfo) =>
    task.rid ? registrationView(context, await getRegistration(context, request.client, task.rid)) : undefined;

  app.addSchema(Registration);

  app.post(
    '/registrations/file',
    {
      schema: {
        summary: 'SubmitFileRegistrationTask: multipart `file` plus fields, or JSON with base64 `content`',
        tags: ['registrations'],
        headers: Type.Object({ prefer: Type.Optional(Type.String({ description: 'wait=N (seconds, ≤ 60) for a synchronous answer' })) }),
        body: {
          content: {
            'application/json': { schema: FileRegistrationJson },
            'multipart/form-data': { schema: Type.Any({ description: 'fields userId, userEmail, title, … and one `file` part' }) },
          },
        },
        response: {
          200: Type.Union([Type.Ref(Registration), Type.Ref(Task)], {
            description: 'Registered within Prefer: wait (the registration), or an idempotent replay (the task)',
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
        ? await readMultipart(context, request, maxBodySize)
        : await readJson(context, request.body as FileRegistrationJson);
      const submitted = await submitFileRegistration(context, request.client, read.request, read.staged);
      return answerSubmission(context, request, reply, submitted, finishedRegistration(request));
    },
  );

  app.post(
    '/registrations/url',
    {
      schema: {
        summary: 'SubmitUrlRegistrationTask: capture a web page (through the outbound address policy) and register it',
        tags: ['registrations'],
        headers: Type.Object({ prefer: Type.Optional(Type.String({ description: 'wait=N (seconds, ≤ 60) for a synchronous answer' })) }),
        body: UrlRegistrationJson,
        response: {
          200: Type.Union([Type.Ref(Registration), Type.Ref(Task)]),
          202: Type.Ref(Task),
          400: Type.Ref(Problem),
          409: Type.Ref(Problem),
          422: Type.Ref(Problem),
        },
      },
    },
    async (request, reply) => {
      const submitted = await submitUrlRegistration(context, request.client, request.body);
      return answerSubmission(context, request, reply, submitted, finishedRegistration(request));
    },
  );

  app.get(
    '/registrations/:rid',
    {
      schema: {
        summary: 'GetRegistrationInfo',
        tags: ['registrations'],
        params: RidParams,
        response: { 200: Type.Ref(Registration), 400: Type.Ref(Problem), 404: Type.Ref(Problem) },
      },
    },
    async (request) => registrationView(context, await getRegistration(context, request.client, request.params.rid)),
  );

  app.get(
    '/registrations',
    {
      schema: {
        summary: 'CheckRegistrationByDataHash: registrations of these exact bytes (sha1 or sha256) within the client service',
        tags: ['registrations'],
        querystring: HashQuery,
        response: { 200: HashCheck, 400: Type.Ref(Problem) },
      },
    },
    async (request) => {
      const registrations = await findRegistrationsByHash(context, request.client, request.query);
      return {
        registered: registrations.length > 0,
        registrations: registrations.map((found) => ({ rid: found.rid, registeredAt: iso(found.registeredAt)!, userId: found.userId })),
      };
    },
  );

  app.get(
    '/registrations/:rid/content',
    {
      schema: {
        summary: 'The registered bytes',
        tags: ['registrations'],
        params: RidParams,
        response: { 200: Binary('The deposited content'), 400: Type.Ref(Problem), 404: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const registration = await getRegistration(context, request.client, request.params.rid);
      return reply
        .type(registration.contentType)
        .header('Content-Length', String(registration.size))
        .header('Content-Disposition', contentDisposition(registration.name))
        .send(openRegisteredContent(context, registration));
    },
  );

  app.get(
    '/registrations/:rid/timestamp.tsr',
    {
      schema: {
        summary: 'The RFC 3161 time-stamp reply (granted status + token) over the content’s SHA-256',
        tags: ['registrations'],
        params: RidParams,
        response: { 200: Binary('application/timestamp-reply'), 400: Type.Ref(Problem), 404: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const registration = await getRegistration(context, request.client, request.params.rid);
      return reply
        .type('application/timestamp-reply')
        .header('Content-Disposition', contentDisposition(`${registration.rid}.tsr`))
        .send(timestampReply(registration));
    },
  );

  app.get(
    '/registrations/:rid/evidence.zip',
    {
      schema: {
        summary: 'Evidence package: content, token, TSA chain and a README to verify with openssl alone',
        tags: ['registrations'],
        params: RidParams,
        response: { 200: Binary('application/zip'), 400: Type.Ref(Problem), 404: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const registration = await getRegistration(context, request.client, request.params.rid);
      return reply
        .type('application/zip')
        .header('Content-Disposition', contentDisposition(`evidence-${registration.rid}.zip`))
        .send(await evidencePackage(context, registration));
    },
  );

  for (const kind of ['pdf', 'png'] as const) {
    app.get(
      `/registrations/:rid/snapshot.${kind}`,
      {
        schema: {
          summary: `URL registrations with --capture-browser: the page rendered by headless Chromium (${kind.toUpperCase()})`,
          tags: ['registrations'],
          params: RidParams,
          response: { 200: Binary(kind === 'pdf' ? 'application/pdf' : 'image/png'), 400: Type.Ref(Problem), 404: Type.Ref(Problem) },
        },
      },
      async (request, reply) => {
        const registration = await getRegistration(context, request.client, request.params.rid);
        const { stream, size } = openSnapshot(context, registration, kind);
        return reply
          .type(kind === 'pdf' ? 'application/pdf' : 'image/png')
          .header('Content-Length', String(size))
          .send(stream);
      },
    );
  }

  app.get(
    '/registrations/:rid/certificate.pdf',
    {
      schema: {
        summary: 'The registration certificate: one page with RID, hashes, time, user and a QR code of the public page, PAdES B-T signed by the service',
        tags: ['registrations'],
        params: RidParams,
        response: { 200: Binary('application/pdf'), 400: Type.Ref(Problem), 404: Type.Ref(Problem) },
      },
    },
    async (request, reply) => {
      const registration = await getRegistration(context, request.client, request.params.rid);
      return reply
        .type('application/pdf')
        .header('Content-Disposition', contentDisposition(`certificate-${registration.rid}.pdf`))
        .send(await registrationCertificate(context, registration));
    },
  );
};

export function registrationView(context: CoreContext, registration: CoreRegistration) {
  const base = `/v1/registrations/${registration.rid}`;
  const { capture } = registration;
  return {
    rid: registration.rid,
    status: 'REGISTERED' as const,
    registeredAt: iso(registration.registeredAt)!,
    kind: registration.kind,
    title: registration.title,
    description: registration.description,
    user: { userId: registration.userId, email: registration.userEmail },
    object: registrationObjectView(registration),
    proof: { hashAlgorithm: 'SHA-256', timestampToken: registration.timestampToken, tsa: registration.tsa },
    ...(capture && {
      capture: {
        finalUrl: capture.finalUrl,
        redirects: capture.redirects,
        statusCode: capture.statusCode,
        headers: capture.headers,
        headersTimestampToken: capture.headersTimestampToken,
        ...(capture.snapshot && { snapshot: capture.snapshot }),
        ...(capture.snapshotError && { snapshotError: capture.snapshotError }),
      },
    }),
    links: {
      self: base,
      content: `${base}/content`,
      certificate: `${base}/certificate.pdf`,
      timestamp: `${base}/timestamp.tsr`,
      evidence: `${base}/evidence.zip`,
      page: `${publicBaseUrl(context.registrations, context.host)}/r/${registration.rid}`,
      ...(capture?.snapshot && { snapshotPdf: `${base}/snapshot.pdf`, snapshotPng: `${base}/snapshot.png` }),
    },
  };
}

async function readJson(context: CoreContext, body: FileRegistrationJson): Promise<{ request: FileRegistrationRequest; staged: StagedContent }> {
  const { content, ...fields } = body;
  const compact = content.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new SignetError('invalid_base64', 'content is not valid base64', { field: 'content' });
  }
  return { request: fields, staged: await stageContent(context.store, Buffer.from(compact, 'base64')) };
}

const multipartFields = new Set(['userId', 'userEmail', 'title', 'description', 'externalReference', 'callbackUrl', 'name', 'contentType']);

/** Fields in any order around one `file` part, which streams to the blob store while both hashes are taken. */
async function readMultipart(
  context: CoreContext,
  httpRequest: FastifyRequest,
  maxBodySize: number,
): Promise<{ request: FileRegistrationRequest; staged: StagedContent }> {
  const fields: Record<string, string> = {};
  let staged: StagedContent | undefined;
  let fileName: string | undefined;
  let fileType: string | undefined;
  try {
    for await (const part of httpRequest.parts({ limits: { fileSize: maxBodySize, files: 1, fieldSize: 64 * 1024 } })) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || staged) {
          part.file.resume();
          throw new SignetError('invalid_request', 'Send exactly one file part, named "file"', { field: 'file' });
        }
        // Small files become one buffer (a database row on the embedded store), larger ones stream.
        const { sink, staged: staging } = contentStagingSink(context.store, Promise.resolve());
        await pipeline(part.file, sink);
        staged = await staging;
        if (part.file.truncated) throw new SignetError('payload_too_large', `The upload exceeds the ${maxBodySize}-byte limit`);
        fileName = part.filename;
        fileType = part.mimetype;
      } else if (multipartFields.has(part.fieldname)) {
        fields[part.fieldname] = String(part.value);
      }
    }
    if (!staged) throw new SignetError('invalid_request', 'The multipart body needs a "file" part', { field: 'file' });
    const request: FileRegistrationRequest = {
      userId: fields.userId,
      userEmail: fields.userEmail,
      title: fields.title,
      description: fields.description,
      externalReference: fields.externalReference || undefined,
      callbackUrl: fields.callbackUrl || undefined,
      name: fields.name ?? fileName,
      contentType: fields.contentType ?? (fileType && fileType !== 'application/octet-stream' ? fileType : undefined),
    };
    return { request, staged };
  } catch (error) {
    await discardContent(context.store, staged);
    throw error;
  }
}

function Binary(description: string) {
  return Type.Unsafe<unknown>({ type: 'string', format: 'binary', description });
}

function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
