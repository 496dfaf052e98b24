/**
 * The COPYTRUST access bus as API.md §10 fixes it: five operations, their request and response
 * elements in table order, and the XML Schema type of each. The WSDL is generated from this table and
 * the request reader checks against it, so the two cannot drift apart.
 */

export const TARGET_NAMESPACE = 'urn:signet:copytrust:v1';
export const SOAP11_NAMESPACE = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NAMESPACE = 'http://www.w3.org/2003/05/soap-envelope';
export const XOP_NAMESPACE = 'http://www.w3.org/2004/08/xop/include';
export const WSSE_NAMESPACE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const PASSWORD_TEXT_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

export type SoapVersion = '1.1' | '1.2';

/** `tns:` types are the schema's own simple and complex types (wsdl.ts). */
export type FieldType = 'xs:string' | 'xs:base64Binary' | 'xs:dateTime' | 'xs:long' | 'xs:boolean' | 'tns:Guid' | 'tns:TaskStatus' | 'tns:HashAlgorithm' | 'tns:Registration';

export interface FieldSpec {
  name: string;
  type: FieldType;
  optional?: true;
  repeated?: true;
}

export interface OperationSpec {
  request: readonly FieldSpec[];
  response: readonly FieldSpec[];
}

const field = (name: string, type: FieldType, flags: { optional?: true; repeated?: true } = {}): FieldSpec => ({ name, type, ...flags });
const optional = { optional: true } as const;

export const operations = {
  SubmitFileRegistrationTask: {
    request: [
      field('FileName', 'xs:string'),
      field('FileData', 'xs:base64Binary'),
      field('Title', 'xs:string', optional),
      field('Description', 'xs:string', optional),
      field('UserID', 'xs:string'),
      field('UserEMail', 'xs:string'),
      field('ExternalReference', 'xs:string', optional),
    ],
    response: [field('TaskID', 'tns:Guid')],
  },
  SubmitUrlRegistrationTask: {
    request: [
      field('Url', 'xs:string'),
      field('Title', 'xs:string', optional),
      field('Description', 'xs:string', optional),
      field('UserID', 'xs:string'),
      field('UserEMail', 'xs:string'),
      field('ExternalReference', 'xs:string', optional),
    ],
    response: [field('TaskID', 'tns:Guid')],
  },
  GetTaskInfo: {
    request: [field('TaskID', 'tns:Guid')],
    response: [
      field('TaskID', 'tns:Guid'),
      field('Status', 'tns:TaskStatus'),
      field('RID', 'xs:string', optional),
      field('ErrorCode', 'xs:string', optional),
      field('ErrorMessage', 'xs:string', optional),
      field('CreatedAt', 'xs:dateTime'),
      field('FinishedAt', 'xs:dateTime', optional),
    ],
  },
  GetRegistrationInfo: {
    request: [field('RID', 'xs:string')],
    response: [
      field('RID', 'xs:string'),
      field('RegisteredAt', 'xs:dateTime'),
      field('Title', 'xs:string'),
      field('Description', 'xs:string'),
      field('UserID', 'xs:string'),
      field('UserEMail', 'xs:string'),
      field('FileName', 'xs:string', optional),
      field('Url', 'xs:string', optional),
      field('ContentType', 'xs:string'),
      field('Size', 'xs:long'),
      field('SHA1', 'xs:string'),
      field('SHA256', 'xs:string'),
      field('TimestampToken', 'xs:base64Binary'),
      field('CertificateUrl', 'xs:string'),
      field('EvidenceUrl', 'xs:string'),
      field('PageUrl', 'xs:string'),
    ],
  },
  CheckRegistrationByDataHash: {
    request: [field('Hash', 'xs:string'), field('HashAlgorithm', 'tns:HashAlgorithm', optional)],
    response: [field('Registered', 'xs:boolean'), field('Registration', 'tns:Registration', { optional: true, repeated: true })],
  },
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof operations;

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operations, name);
}

/** The children of a `Registration` element of CheckRegistrationByDataHashResponse. */
export const registrationSummaryFields: readonly FieldSpec[] = [field('RID', 'xs:string'), field('RegisteredAt', 'xs:dateTime'), field('UserID', 'xs:string')];

export const taskStatuses = ['Pending', 'Running', 'Completed', 'Failed', 'Cancelled'] as const;
export type SoapTaskStatus = (typeof taskStatuses)[number];

export const hashAlgorithms = ['SHA1', 'SHA256'] as const;

export function soapActionOf(operation: OperationName): string {
  return `${TARGET_NAMESPACE}/${operation}`;
}
