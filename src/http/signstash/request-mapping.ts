import type { SignatureOptions, VisibleStamp } from '../../core/signatures/signature-options.js';
import { contentTypeForName, formatForContentType } from '../../core/signatures/signature-options.js';
import type { SignatureOperationRequest } from '../../core/signatures/submit-signature-operation.js';
import { decodeImageBase64 } from '../../crypto/pdf/pades/image-xobject.js';
import { jpegInfo } from '../../crypto/pdf/pades/jpeg-image.js';
import { SignetError } from '../../errors/signet-error.js';
import { uuid7 } from '../../util/uuid7.js';
import { MissingAttribute } from './errors.js';
import type { SignatureInfo, SignRequestDocument } from './schemas.js';

/** What the stamp text may say about the signer: `$certificate.getCommonName()` in a template. */
export interface StampContext {
  signerCommonName: string;
}

/** The stamp size Sign'Stash draws when `area` is not given (its example area). */
const DEFAULT_AREA = { width: 155, height: 50 };
const DEFAULT_TEMPLATE = 'Digitally signed by $certificate.getCommonName()';

/**
 * A Sign'Stash request → the native operation request (API.md §3). Mandatory attributes missing or
 * null are reported by their Sign'Stash path; what the native core cannot honour is `invalid_request`.
 * `signatureInfo` maps as: signatureType → format, applyTimestamp → B-T (else B-B), reason,
 * location, visibleSignatureInfo → visible (PAdES), advancedSignatureInfo.signatureLocation →
 * signatureLocation (XAdES).
 */
export function toOperationRequest(body: SignRequestDocument, stamp: StampContext): SignatureOperationRequest {
  const documents = body.documents;
  if (!documents || documents.length === 0) throw new MissingAttribute('signDocumentRequest.documents');
  return {
    // The native core keys idempotency on the reference; a request without one is simply new each time.
    externalReference: body.externalReference ?? `signstash-${uuid7()}`,
    ...(body.description != null && { description: body.description }),
    documents: documents.map((doc, index) => {
      const at = `signDocumentRequest.documents[${index}]`;
      if (doc == null || doc.documentRequest == null) throw new MissingAttribute(`${at}.documentRequest`);
      const { name, externalReference, contentType } = doc.documentRequest;
      if (name == null || name === '') throw new MissingAttribute(`${at}.documentRequest.name`);
      const type = contentType ?? contentTypeForName(name);
      return {
        name,
        contentType: type,
        ...(externalReference != null && { externalReference }),
        signature: toSignatureOptions(doc.signatureInfo ?? undefined, type, `${at}.signatureInfo`, stamp),
      };
    }),
  };
}

export function toSignatureOptions(
  info: SignatureInfo | undefined,
  contentType: string,
  at: string,
  stamp: StampContext,
): SignatureOptions {
  const format = info?.signatureType ?? formatForContentType(contentType);
  const options: SignatureOptions = { format, level: info?.applyTimestamp ? 'B-T' : 'B-B' };
  if (info?.reason != null) options.reason = info.reason;
  if (info?.location != null) options.location = info.location;
  if (format === 'PAdES' && info?.visibleSignatureInfo != null) {
    const fieldName = info.visibleSignatureInfo.locationType === 'SIGN_FIELD' ? info.visibleSignatureInfo.locationValue?.trim() : undefined;
    if (fieldName) options.field = fieldName;
    const visible = toVisibleStamp(info.visibleSignatureInfo, `${at}.visibleSignatureInfo`, stamp);
    if (visible) options.visible = visible;
  }
  const advanced = info?.advancedSignatureInfo;
  if (format === 'XAdES' && advanced != null) {
    if (advanced.signatureTransform != null && advanced.signatureTransform !== 'ENVELOPED') {
      throw new SignetError('invalid_request', `${at}.advancedSignatureInfo.signatureTransform ${advanced.signatureTransform} is not supported; use ENVELOPED`, {
        field: `${at}.advancedSignatureInfo.signatureTransform`,
      });
    }
    if (advanced.canonicalTransform != null && advanced.canonicalTransform !== 'EXCLUSIVE') {
      throw new SignetError('invalid_request', `${at}.advancedSignatureInfo.canonicalTransform ${advanced.canonicalTransform} is not supported; use EXCLUSIVE`, {
        field: `${at}.advancedSignatureInfo.canonicalTransform`,
      });
    }
    if (advanced.signatureLocation != null && advanced.signatureLocation.trim() !== '') options.signatureLocation = advanced.signatureLocation;
  }
  return options;
}

type VisibleInfo = NonNullable<SignatureInfo['visibleSignatureInfo']>;

/**
 * COORDINATE: `locationValue` `page=1,x=70,y=100` and `area` `width=155,height=50`, in PDF user-space
 * units (1/72 in, what Sign'Stash calls pixels) from the page's lower-left corner. SIGN_FIELD: the
 * empty signature field named by `locationValue` is filled (a document without it fails with
 * signature_field_not_found; with no name, the first empty field). PLACEHOLDER: `locationValue` is a
 * text of the page content (`{{signature}}`); the stamp's lower-left corner goes to the baseline
 * origin of its first occurrence. The PDF engine finds it when it signs (this layer never parses a
 * PDF); a document without it fails with placeholder_not_found.
 */
function toVisibleStamp(info: VisibleInfo, at: string, stamp: StampContext): VisibleStamp | undefined {
  const locationType = info.locationType ?? (info.locationValue != null ? 'COORDINATE' : undefined);
  if (locationType === undefined) return undefined;
  if (locationType === 'SIGN_FIELD') return undefined;
  if (info.locationValue == null) throw new MissingAttribute(`${at}.locationValue`);
  const area = info.area == null ? DEFAULT_AREA : keyValues(info.area, `${at}.area`, ['width', 'height']);
  let place: Pick<VisibleStamp, 'page' | 'x' | 'y' | 'placeholder'>;
  if (locationType === 'PLACEHOLDER') {
    if (info.locationValue.trim() === '') {
      throw new SignetError('invalid_request', `${at}.locationValue must be the placeholder text for PLACEHOLDER, e.g. {{signature}}`, {
        field: `${at}.locationValue`,
      });
    }
    place = { placeholder: info.locationValue };
  } else {
    const location = keyValues(info.locationValue, `${at}.locationValue`, ['page', 'x', 'y']);
    const page = location.page ?? 1;
    if (!Number.isInteger(page) || page < 1) {
      throw new SignetError('invalid_request', `${at}.locationValue: page must be a page number starting at 1`, { field: `${at}.locationValue` });
    }
    if (location.x === undefined || location.y === undefined) {
      throw new SignetError('invalid_request', `${at}.locationValue must look like page=1,x=70,y=100`, { field: `${at}.locationValue` });
    }
    place = { page, x: location.x, y: location.y };
  }
  const width = area.width ?? DEFAULT_AREA.width;
  const height = area.height ?? DEFAULT_AREA.height;
  if (!(width > 0) || !(height > 0)) {
    throw new SignetError('invalid_request', `${at}.area must look like width=155,height=50 with positive sizes`, { field: `${at}.area` });
  }
  const template = info.templateType === 'ONE_OFF' && info.oneOffTemplate != null ? info.oneOffTemplate : DEFAULT_TEMPLATE;
  const visible: VisibleStamp = { ...place, width, height, text: fillTemplate(template, stamp) };
  if (info.imageValue != null && info.imageValue !== '') {
    if (info.imageType === 'IMAGE_JPG') {
      // Only the markers are read (no decoding): a file that is no usable JPEG is refused now, by its Sign'Stash name.
      jpegInfo(decodeImageBase64(info.imageValue, `${at}.imageValue`), `${at}.imageValue`);
      visible.imageJpeg = info.imageValue;
    } else {
      visible.imagePng = info.imageValue;
    }
  }
  return visible;
}

/** "page=1,x=70,y=100" → {page: 1, x: 70, y: 100}; only the named keys, each a finite number. */
function keyValues(text: string, at: string, allowed: string[]): Record<string, number | undefined> {
  const result: Record<string, number | undefined> = {};
  for (const pair of text.split(/[,;]/).map((p) => p.trim()).filter(Boolean)) {
    const match = /^([A-Za-z]+)\s*[=:]\s*(-?\d+(?:\.\d+)?)$/.exec(pair);
    if (!match || !allowed.includes(match[1])) {
      throw new SignetError('invalid_request', `${at} "${text}": expected ${allowed.map((k) => `${k}=<number>`).join(',')}`, { field: at });
    }
    result[match[1]] = Number(match[2]);
  }
  return result;
}

function fillTemplate(template: string, stamp: StampContext): string {
  return template.replace(/\$certificate\.getCommonName\(\)/g, stamp.signerCommonName);
}
