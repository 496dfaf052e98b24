import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The Sign'Stash v0 wire format (API.md §8, ../shared/signstash). Its public Java client (Gson)
 * omits null fields when it sends, but other clients send them as null, so every optional field
 * accepts null. Presence of mandatory fields is checked in request-mapping.ts, which names the
 * missing attribute the way Sign'Stash does ("missing signDocumentRequest.documents[0]…").
 * Unknown fields are accepted and ignored, as Gson does on its side.
 */
const Maybe = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));
const Enum = <T extends string>(...values: T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Text = (maxLength: number) => Type.String({ maxLength });

export const SignatureType = Enum('PAdES', 'XAdES', 'CAdES');

export const VisibleSignatureInfo = Type.Object({
  templateType: Maybe(Enum('ONE_OFF', 'SERVICE_CUSTOMIZATION')),
  oneOffTemplate: Maybe(Text(2000)),
  locationType: Maybe(Enum('SIGN_FIELD', 'COORDINATE', 'PLACEHOLDER')),
  locationValue: Maybe(Text(500)),
  area: Maybe(Text(200)),
  font: Maybe(Text(200)),
  imageType: Maybe(Enum('IMAGE_PNG', 'IMAGE_JPG')),
  imageValue: Maybe(Type.String()),
});

export const AdvancedSignatureInfo = Type.Object({
  signatureLocation: Maybe(Text(2000)),
  signatureTransform: Maybe(Enum('ENVELOPED', 'XPATH', 'XPATH2_FILTER')),
  canonicalTransform: Maybe(Enum('EXCLUSIVE', 'EXCLUSIVE_WITH_COMMENTS')),
});

export const SignatureInfo = Type.Object({
  signatureType: Maybe(SignatureType),
  reason: Maybe(Text(500)),
  location: Maybe(Text(500)),
  applyTimestamp: Maybe(Type.Boolean()),
  visibleSignatureInfo: Maybe(VisibleSignatureInfo),
  advancedSignatureInfo: Maybe(AdvancedSignatureInfo),
});
export type SignatureInfo = Static<typeof SignatureInfo>;

const documentRequestFields = {
  externalReference: Maybe(Text(200)),
  name: Maybe(Text(255)),
  contentType: Maybe(Text(200)),
};

const requestFields = {
  externalReference: Maybe(Text(200)),
  description: Maybe(Text(2000)),
  returnSignedContent: Maybe(Type.Boolean()),
};

/** `SignRequestBase64Document`: the JSON body of the base64 routes. */
export const SignRequestBase64Document = Type.Object(
  {
    ...requestFields,
    documents: Maybe(
      Type.Array(
        Type.Object({
          documentRequest: Maybe(Type.Object({ ...documentRequestFields, base64Content: Maybe(Type.String()) })),
          signatureInfo: Maybe(SignatureInfo),
        }),
      ),
    ),
  },
);
export type SignRequestBase64Document = Static<typeof SignRequestBase64Document>;

/** `SignRequestDocument`: the `signRequest` part of the multipart route (no content; files follow). */
export const SignRequestDocument = Type.Object({
  ...requestFields,
  documents: Maybe(
    Type.Array(
      Type.Object({
        documentRequest: Maybe(Type.Object(documentRequestFields)),
        signatureInfo: Maybe(SignatureInfo),
      }),
    ),
  ),
});
export type SignRequestDocument = Static<typeof SignRequestDocument>;

export const OperationStatus = Enum('PENDING_EXECUTION', 'EXECUTED', 'EXECUTION_ERROR', 'EXECUTION_FAILED');
export type OperationStatus = Static<typeof OperationStatus>;

export const SignError = Enum(
  'INVALID_CERT_SERVICE_CREDS',
  'INVALID_CERT_ACCESS_ACCOUNT',
  'CERT_SERVICE_GLOBAL_ERROR',
  'CONFIGURATION_SIGN_ERROR',
  'TIMESTAMP_SIGN_ERROR',
  'INVALID_CERTIFICATE_SIGN_ERROR',
  'STORAGE_SERVICE_GLOBAL_ERROR',
  'SIGN_OPERATION_INTERNAL_ERROR',
);
export type SignError = Static<typeof SignError>;

const baseOperationFields = {
  id: Type.Integer({ description: 'Numeric operation id (a Java Long)' }),
  type: Type.Literal('SIGN'),
  status: OperationStatus,
  issuerClientServiceAlias: Type.String(),
  creationDate: Type.String({ format: 'date-time' }),
  folderExternalReference: Type.Optional(Type.String()),
};

export const BaseOperation = Type.Object(baseOperationFields);

export const SignOperationDocument = Type.Object({
  externalReference: Type.Optional(Type.String()),
  name: Type.String(),
  contentType: Type.String(),
  internalId: Type.Integer(),
  signStatus: Enum('RECEIVED', 'SIGNED', 'ERROR_SIGNING'),
  signError: Type.Optional(SignError),
  storageStatus: Enum('CONTENT_PRESERVED', 'CONTENT_STORED', 'CONTENT_NOT_STORED', 'DELETED'),
  cipherStatus: Enum('PENDING', 'ERROR_CIPHERING', 'CIPHERED', 'NO_CIPHER'),
  contentLength: Type.Integer(),
  receptionDate: Type.String({ format: 'date-time' }),
  signedContent: Type.Optional(Type.String({ description: 'base64, when asked for and signed' })),
});

export const SignOperation = Type.Object(
  {
    ...baseOperationFields,
    folder: Type.Optional(
      Type.Object({
        folderId: Type.String(),
        externalReference: Type.Optional(Type.String()),
        description: Type.Optional(Type.String()),
        folderContent: Type.Literal('DOCUMENT'),
      }),
    ),
    documentList: Type.Array(SignOperationDocument),
    executionTime: Type.Optional(Type.Integer({ description: 'milliseconds from creation to the end' })),
  },
);

export const AsyncOperation = Type.Object({ id: Type.Integer(), status: OperationStatus, host: Type.String() });

export const ErrorBody = Type.Object(
  { errorCode: Type.String(), errorCodeDescription: Type.String(), causeMessage: Type.String() },
  { $id: 'SignStashError' },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const OperationIdParams = Type.Object({ operationId: Type.Integer({ minimum: 1 }) });
export const DetailParams = Type.Object({ operationId: Type.Integer({ minimum: 1 }), includeContent: Type.Boolean() });
export const ReferenceParams = Type.Object({ externalReference: Type.String({ minLength: 1, maxLength: 200 }) });
