import { SignetError } from '../../errors/signet-error.js';

export const signatureFormats = ['PAdES', 'XAdES', 'CAdES'] as const;
export const signatureLevels = ['B-B', 'B-T', 'B-LT', 'B-LTA'] as const;
export type SignatureFormat = (typeof signatureFormats)[number];
export type SignatureLevel = (typeof signatureLevels)[number];

/** API.md §3 `visible`: at page/x/y, or (Sign'Stash PLACEHOLDER) at the text `placeholder` of the page content. */
export interface VisibleStamp {
  page?: number;
  x?: number;
  y?: number;
  /** Placed at this text where the PDF shows it; resolved when the document is signed. */
  placeholder?: string;
  width: number;
  height: number;
  text?: string;
  imagePng?: string;
  imageJpeg?: string;
}

/** Signature settings as a client may give them, per operation and per document (API.md §3). */
export interface SignatureOptions {
  format?: SignatureFormat;
  level?: SignatureLevel;
  reason?: string;
  location?: string;
  key?: string;
  visible?: VisibleStamp;
  /** XAdES: XPath of the element the enveloped signature goes into (Sign'Stash advancedSignatureInfo). */
  signatureLocation?: string;
  /** PAdES: sign into this existing empty signature field (Sign'Stash SIGN_FIELD). */
  field?: string;
  /** Raise the signatures the document already carries to `level` instead of signing it (B-LT, B-LTA). */
  extend?: boolean;
  /** CAdES: "PAdES" makes the CMS one a client can put in a PDF's /Contents (no signingTime attribute). */
  profile?: 'PAdES';
}

/** Settings after defaults: what a document is actually signed with. */
export interface ResolvedSignatureOptions {
  format: SignatureFormat;
  level: SignatureLevel;
  key: string;
  reason?: string;
  location?: string;
  visible?: VisibleStamp;
  signatureLocation?: string;
  field?: string;
  extend?: boolean;
  profile?: 'PAdES';
}

export const DEFAULT_KEY = 'default';
export const DEFAULT_LEVEL: SignatureLevel = 'B-T';

/** Document overrides beat operation defaults; the format follows the content type (API.md §3). */
export function resolveSignatureOptions(
  operation: SignatureOptions | undefined,
  document: SignatureOptions | undefined,
  contentType: string,
): ResolvedSignatureOptions {
  const merged = { ...operation, ...stripUndefined(document ?? {}) };
  return {
    format: merged.format ?? formatForContentType(contentType),
    level: merged.level ?? DEFAULT_LEVEL,
    key: merged.key ?? DEFAULT_KEY,
    ...(merged.reason !== undefined && { reason: merged.reason }),
    ...(merged.location !== undefined && { location: merged.location }),
    ...(merged.visible !== undefined && { visible: merged.visible }),
    ...(merged.signatureLocation !== undefined && { signatureLocation: merged.signatureLocation }),
    ...(merged.field !== undefined && { field: merged.field }),
    ...(merged.extend === true && { extend: true }),
    ...(merged.profile !== undefined && { profile: merged.profile }),
  };
}

export function formatForContentType(contentType: string): SignatureFormat {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/pdf') return 'PAdES';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'XAdES';
  return 'CAdES';
}

/** A name's extension decides the content type when the client gave none. */
export function contentTypeForName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.endsWith('.pdf')) return 'application/pdf';
  if (lower.endsWith('.xml')) return 'application/xml';
  return 'application/octet-stream';
}

export function assertKeyAllowed(key: string, allowed: readonly string[] | undefined, known: ReadonlySet<string>, field: string): void {
  if (!known.has(key)) {
    throw new SignetError('invalid_request', `No signing key named "${key}" is configured`, { field });
  }
  // A client without a `keys` list (the plain Sign'Stash format) may use the default key only, so
  // adding a key for one tenant never lends it to the others.
  if (!(allowed ?? [DEFAULT_KEY]).includes(key)) {
    throw new SignetError('key_not_allowed', `This client service may not sign with key "${key}"`, { field });
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
