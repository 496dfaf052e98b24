import { Type, type Static } from '@sinclair/typebox';

/** Typebox schemas of the native API: one source for validation, OpenAPI and TypeScript types. */

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorInfo = Type.Object({ code: Type.String(), message: Type.String() });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    field: Type.Optional(Type.String()),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details with a stable `code`' },
);

export const TaskStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('RUNNING'),
  Type.Literal('SUCCEEDED'),
  Type.Literal('FAILED'),
  Type.Literal('CANCELLED'),
]);
export const TaskKind = Type.Union([Type.Literal('sign'), Type.Literal('register-file'), Type.Literal('register-url')]);

export const Task = Type.Object(
  {
    taskId: Type.String({ format: 'uuid' }),
    kind: TaskKind,
    status: TaskStatus,
    externalReference: Nullable(Type.String()),
    host: Type.String(),
    attempts: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
    error: Type.Optional(ErrorInfo),
    operationId: Type.Optional(Type.String()),
    rid: Type.Optional(Type.String()),
    links: Type.Record(Type.String(), Type.String()),
  },
  { $id: 'Task' },
);

export const TaskList = Type.Object({ items: Type.Array(Type.Ref(Task)), nextCursor: Nullable(Type.String()) });

export const TaskIdParams = Type.Object({ taskId: Type.String({ maxLength: 64 }) });

export const TaskListQuery = Type.Object({
  status: Type.Optional(TaskStatus),
  kind: Type.Optional(TaskKind),
  externalReference: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

const Text = (maxLength: number) => Type.String({ maxLength });

/** What every stamp has, wherever it goes. */
const stampLook = {
  width: Type.Number({ exclusiveMinimum: 0 }),
  height: Type.Number({ exclusiveMinimum: 0 }),
  text: Type.Optional(Text(2000)),
  imagePng: Type.Optional(Type.String()),
  imageJpeg: Type.Optional(Type.String({ description: 'A JPEG (base64) instead of imagePng, embedded as it is' })),
};

/**
 * API.md §3 `visible`: at page/x/y, or at a placeholder text — never both. Two closed objects, so the
 * rule holds wherever the schema is checked (Fastify's validator for JSON bodies, TypeBox's Value for a
 * multipart `request` part), and a bad stamp is a 400 at submission, not a failed document later.
 */
export const VisibleStamp = Type.Union([
  Type.Object(
    { page: Type.Integer({ minimum: 1 }), x: Type.Number(), y: Type.Number(), ...stampLook },
    { additionalProperties: false, title: 'VisibleStampAtPosition' },
  ),
  Type.Object(
    {
      placeholder: Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          'Instead of page, x and y: a text the PDF shows (e.g. {{signature}}); the stamp\'s lower-left corner goes to the ' +
          'baseline origin of its first occurrence. Not found: the document fails with placeholder_not_found.',
      }),
      ...stampLook,
    },
    { additionalProperties: false, title: 'VisibleStampAtPlaceholder' },
  ),
]);

export const SignatureOptions = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('PAdES'), Type.Literal('XAdES'), Type.Literal('CAdES')])),
    level: Type.Optional(
      Type.Union([Type.Literal('B-B'), Type.Literal('B-T'), Type.Literal('B-LT'), Type.Literal('B-LTA')]),
    ),
    reason: Type.Optional(Text(500)),
    location: Type.Optional(Text(500)),
    key: Type.Optional(Text(100)),
    visible: Type.Optional(VisibleStamp),
    field: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'PAdES: sign into this existing empty signature field' })),
    signatureLocation: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1000, description: 'XAdES: XPath of the element the enveloped signature goes into' }),
    ),
    profile: Type.Optional(
      Type.Literal('PAdES', {
        description: 'CAdES at B-B or B-T: a CMS without signingTime, for a client that puts it in a PDF’s /Contents as ETSI.CAdES.detached (sign a digest of the /ByteRange)',
      }),
    ),
    extend: Type.Optional(
      Type.Boolean({
        description:
          'true: the documents are already signed (a PDF, or a CAdES .p7s); raise every signature in them to `level` (B-LT or B-LTA) ' +
          'without adding one. On a B-LTA document, B-LTA adds a fresh archive/document time-stamp. No signature: not_signed.',
      }),
    ),
  },
  { additionalProperties: false },
);

const documentFields = {
  externalReference: Type.Optional(Text(200)),
  name: Type.String({ minLength: 1, maxLength: 255 }),
  contentType: Type.Optional(Text(200)),
  signature: Type.Optional(SignatureOptions),
  digest: Type.Optional(
    Type.Object(
      {
        algorithm: Type.Union([Type.Literal('SHA-256'), Type.Literal('SHA-384'), Type.Literal('SHA-512')]),
        value: Type.String({ maxLength: 100, description: 'base64' }),
      },
      { additionalProperties: false, description: 'Signing a hash only: the content’s digest instead of `content` (CAdES, detached); the content never reaches Signet' },
    ),
  ),
};

const operationFields = {
  externalReference: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Text(2000)),
  callbackUrl: Type.Optional(Type.String({ format: 'uri', maxLength: 2000 })),
  signature: Type.Optional(SignatureOptions),
};

/** JSON body: documents carry base64 content. */
export const SignatureRequestJson = Type.Object(
  {
    ...operationFields,
    documents: Type.Array(
      Type.Object(
        {
          ...documentFields,
          content: Type.Optional(Type.String({ description: 'The document, base64 (or `digest` instead)' })),
          original: Type.Optional(
            Type.String({ description: 'With "extend": the content a CAdES .p7s signs (base64); checked against the digest the signature states' }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false, $id: 'SignatureRequest' },
);
export type SignatureRequestJson = Static<typeof SignatureRequestJson>;

/** The multipart `request` part: the same without content; files follow as `files` parts in order. */
export const SignatureRequestPart = Type.Object(
  {
    ...operationFields,
    documents: Type.Array(Type.Object(documentFields, { additionalProperties: false }), { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type SignatureRequestPart = Static<typeof SignatureRequestPart>;

export const SignedDocument = Type.Object({
  id: Type.String(),
  externalReference: Nullable(Type.String()),
  name: Type.String(),
  contentType: Type.String(),
  status: Type.Union([Type.Literal('RECEIVED'), Type.Literal('SIGNED'), Type.Literal('FAILED')]),
  error: Type.Optional(ErrorInfo),
  format: Type.String(),
  level: Type.String(),
  size: Type.Integer(),
  signedSize: Type.Union([Type.Integer(), Type.Null()]),
  sha256: Type.String(),
  /** Present once --retention deleted the bytes: the record stays, content routes answer 410 purged. */
  purged: Type.Optional(Type.Literal(true)),
  purgedAt: Type.Optional(Type.String({ format: 'date-time' })),
  links: Type.Object({ content: Type.Optional(Type.String()) }),
});

export const SignatureOperation = Type.Object(
  {
    id: Type.String(),
    externalReference: Nullable(Type.String()),
    description: Nullable(Type.String()),
    status: TaskStatus,
    host: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
    executionTimeMs: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Optional(ErrorInfo),
    documents: Type.Array(SignedDocument),
    links: Type.Record(Type.String(), Type.String()),
  },
  { $id: 'SignatureOperation' },
);

export const SignatureOperationList = Type.Object({ items: Type.Array(Type.Ref(SignatureOperation)) });

export const OperationIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const DocumentParams = Type.Object({ id: Type.String({ maxLength: 64 }), docId: Type.String({ maxLength: 64 }) });
export const ReferenceQuery = Type.Object({ externalReference: Type.String({ minLength: 1, maxLength: 200 }) });
