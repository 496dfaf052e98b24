import { SignetError } from '../../../errors/signet-error.js';
import {
  signatureValidationData,
  timeStampValidationData,
  type ValidationDataSource,
} from '../../cms/cades-baseline-lt.js';
import { DerShapeError } from '../../cms/der-reader.js';
import type { TimestampClient } from '../../tsp/timestamp-client.js';
import { isName } from '../objects.js';
import { cmsInContents, contentsOf } from './signature-contents.js';
import { asDocumentError } from '../pdf-error.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { addDocumentTimestamp } from './document-timestamp.js';
import { appendDss, appendDssParts, notYetInDss } from './dss.js';
import { filledSignatureFields, type FilledSignatureField } from '../reader/form-fields.js';

/*
 * PAdES baseline levels above B-T (ETSI EN 319 142-1 §6.3, §6.4), each one more incremental update on a
 * signed document:
 *
 *   B-LT  = B-T + a DSS (ISO 32000-2 §12.8.4.3) with every certificate of the signer's and the signature
 *           time-stamp TSA's chains and each certificate's current OCSP response or CRL from its issuer,
 *           /VRI keyed by the signature;
 *   B-LTA = B-LT + a document time-stamp (ISO 32000-2 §12.8.5) over the whole file, DSS included, and
 *           the validation data of that time-stamp's TSA in the DSS as well.
 */

export type PadesExtendedLevel = 'B-LT' | 'B-LTA';

export interface ExtendPadesOptions {
  level: PadesExtendedLevel;
  /** Issuer certificates and CRLs, as for CAdES-B-LT (cades-baseline-lt.ts). */
  validationData: ValidationDataSource;
  /** The TSA of the document time-stamp; required for B-LTA. */
  timestampClient?: TimestampClient;
  /** Fully qualified name of the signature field to extend; default the newest signature in the file. */
  fieldName?: string;
  /** The time CRLs must be current at; default now. */
  now?: Date;
  /** The signature just made (signPdfDetailed): its /Contents is not looked up and read back from the file. */
  signature?: { fieldName: string; contents: Buffer };
}

export interface ExtendedPdf {
  pdf: Buffer;
  /** The same bytes as pieces to store one after the other (B-LT: the signed PDF, then the DSS update, uncopied). */
  parts: readonly Buffer[];
  /** The B-LTA document time-stamp's field name. */
  documentTimestampField?: string;
}

/**
 * Extends a PAdES-B-T signature of `signedPdf` to B-LT or B-LTA. All validation data is gathered before
 * anything is written: when a chain cannot be completed or a CRL is missing, stale or not the CA's, it
 * fails with `validation_data_unavailable` (`certificate_revoked` for a listed certificate) instead of
 * producing a B-LT that is not one. The bytes of `signedPdf` are kept; only updates are appended.
 */
export async function extendPadesLevel(signedPdf: Buffer, options: ExtendPadesOptions): Promise<ExtendedPdf> {
  if (options.level === 'B-LTA' && !options.timestampClient) throw new TypeError('B-LTA needs a timestampClient for the document time-stamp');
  const now = options.now ?? new Date();
  const reader = asDocumentError(() => PdfReader.open(signedPdf));
  const signature =
    options.signature ??
    asDocumentError(() => {
      const field = findSignature(reader, options.fieldName);
      return { fieldName: field.name, contents: contentsOf(field) };
    });
  const cms = asDocumentError(() => cmsInContents(signature.contents, signature.fieldName));
  const data = await signatureValidationData(cms, options.validationData, now).catch((error: unknown) => {
    // Not B-T (no signature time-stamp), or a CMS we did not make and cannot take apart.
    if (error instanceof TypeError || error instanceof DerShapeError) throw new SignetError('invalid_request', `The signature "${signature.fieldName}" cannot be extended: ${error.message}`, { cause: error });
    throw error;
  });
  const withDssParts = appendDssParts(reader, { signatureContents: [signature.contents], ...data });
  if (options.level === 'B-LT') {
    return {
      get pdf() {
        return Buffer.concat(withDssParts);
      },
      parts: withDssParts,
    };
  }
  const withDss = Buffer.concat(withDssParts);

  const stamped = await addDocumentTimestamp(withDss, { timestampClient: options.timestampClient! });
  const stampedPdf = Buffer.concat(stamped.parts);
  // The document time-stamp's TSA usually is the signature time-stamp's, whose data is in the DSS already;
  // when it is another, its chain and CRLs follow in one more DSS update (ETSI EN 319 142-1 §5.4.2.1).
  const timestampData = await timeStampValidationData(stamped.contents, options.validationData, now);
  const missing = notYetInDss(timestampData, asDocumentError(() => PdfReader.open(stampedPdf)));
  if (missing.certificates.length === 0 && missing.crls.length === 0 && missing.ocsps.length === 0) {
    return { pdf: stampedPdf, parts: [stampedPdf], documentTimestampField: stamped.fieldName };
  }
  const timestampContents = asDocumentError(() => contentsOf(findSignature(PdfReader.open(stampedPdf), stamped.fieldName)));
  const pdf = appendDss(stampedPdf, { signatureContents: [timestampContents], ...timestampData });
  return { pdf, parts: [pdf], documentTimestampField: stamped.fieldName };
}

/** The named signature, or the newest one: the signature whose /ByteRange reaches furthest into the file. */
function findSignature(reader: PdfReader, fieldName: string | undefined): FilledSignatureField {
  const signatures = filledSignatureFields(reader).filter((field) => !isName(reader.resolve(field.value.get('Type')), 'DocTimeStamp'));
  if (fieldName !== undefined) {
    const named = filledSignatureFields(reader).find((field) => field.name === fieldName);
    if (!named) throw new SignetError('signature_field_not_found', `The PDF has no signed field "${fieldName}"`);
    return named;
  }
  let newest: FilledSignatureField | undefined;
  let newestEnd = -1;
  for (const field of signatures) {
    const range = reader.resolve(field.value.get('ByteRange'));
    const end = Array.isArray(range) && range.length === 4 && typeof range[2] === 'number' && typeof range[3] === 'number' ? range[2] + range[3] : -1;
    if (end >= newestEnd) [newest, newestEnd] = [field, end];
  }
  if (!newest) throw new SignetError('invalid_request', 'The PDF has no signature to extend');
  return newest;
}
