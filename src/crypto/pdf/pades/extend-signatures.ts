import { SignetError } from '../../../errors/signet-error.js';
import { endEntitiesValidationData, timeStampValidationData, type ValidationDataSource } from '../../cms/cades-baseline-lt.js';
import type { TimestampClient } from '../../tsp/timestamp-client.js';
import { isName } from '../objects.js';
import { asDocumentError } from '../pdf-error.js';
import { filledSignatureFields, type FilledSignatureField } from '../reader/form-fields.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { addDocumentTimestamp } from './document-timestamp.js';
import { appendDss, notYetInDss, type DssAddition } from './dss.js';
import type { PadesExtendedLevel } from './pades-levels.js';
import { cmsOf, contentsOf } from './signature-contents.js';
import { signatureEndEntities } from './signature-signers.js';

export interface ExtendPdfOptions {
  level: PadesExtendedLevel;
  validationData: ValidationDataSource;
  /** The TSA of document time-stamps (the T level of a signature without one, and B-LTA). */
  timestampClient: TimestampClient;
  now?: Date;
}

/**
 * Raises every signature of a signed PDF — made by Signet or anyone — to B-LT or B-LTA without adding a
 * signature (API.md §3 "Extending existing signatures"; ETSI EN 319 142-1 §5.4, as DSS's PAdES
 * extension does):
 *
 *   1. T: a signature without a signature time-stamp and without a document time-stamp after it gets
 *      one document time-stamp (EN 319 142-1 §6.3 lets a document time-stamp give B-T);
 *   2. LT: one DSS update with, for every signature, its signer's chain and each signature
 *      time-stamp's TSA chain with current OCSP responses or CRLs, and the same for every document
 *      time-stamp already in the file (the earlier archive time-stamps of a B-LTA), each under its VRI;
 *   3. LTA: a new document time-stamp over all of it, and its TSA's data in one more DSS update when
 *      missing. Run on a B-LTA document this renews it: the previous time-stamps are covered first.
 *
 * A PDF without any signature is `not_signed`; a signature whose CMS cannot be read or whose signer
 * certificate it lacks is `invalid_request` naming it. CMS from other products may be BER (signature-signers.ts). The original bytes are kept.
 */
export async function extendPdfSignatures(pdf: Buffer, options: ExtendPdfOptions): Promise<Buffer> {
  const now = options.now ?? new Date();
  let current = pdf;
  let fields = readFields(current);
  // Each signature's CMS is read once (by field name), though a document time-stamp added below makes the file be read again.
  const signers = new Map<string, ReturnType<typeof signatureEndEntities>>();
  const signersOf = (field: FilledSignatureField) => {
    let found = signers.get(field.name);
    if (!found) signers.set(field.name, (found = signatureEndEntities(cmsOf(field), field.name)));
    return found;
  };
  if (fields.all.length === 0) throw new SignetError('not_signed', 'The PDF carries no signature to extend; sign it instead');

  // 1. T level where a signature lacks it.
  const lacksTime = fields.signatures.some(
    (field) => !signersOf(field).timeStamped && !fields.timestamps.some((stamp) => endOf(stamp, fields.reader) > endOf(field, fields.reader)),
  );
  if (lacksTime) {
    current = Buffer.concat((await addDocumentTimestamp(current, { timestampClient: options.timestampClient })).parts);
    fields = readFields(current);
  }

  // 2. LT: every signature and every document time-stamp, in one DSS update.
  const additions: DssAddition[] = [];
  for (const field of fields.all) {
    let data;
    if (fields.timestamps.includes(field)) {
      data = await timeStampValidationData(cmsOf(field), options.validationData, now);
    } else {
      const { endEntities, pool } = signersOf(field);
      data = await endEntitiesValidationData(endEntities, pool, options.validationData, now);
    }
    additions.push({ signatureContents: [contentsOf(field)], ...data });
  }
  current = appendDss(current, additions);
  if (options.level === 'B-LT') return current;

  // 3. LTA: a document time-stamp over everything, then its own TSA's data if the DSS lacks it.
  const stamped = await addDocumentTimestamp(current, { timestampClient: options.timestampClient });
  current = Buffer.concat(stamped.parts);
  const timestampData = await timeStampValidationData(stamped.contents, options.validationData, now);
  const missing = notYetInDss(timestampData, asDocumentError(() => PdfReader.open(current)));
  if (missing.certificates.length === 0 && missing.crls.length === 0 && missing.ocsps.length === 0) return current;
  const reader = asDocumentError(() => PdfReader.open(current));
  const field = filledSignatureFields(reader).find((candidate) => candidate.name === stamped.fieldName)!;
  return appendDss(current, { signatureContents: [contentsOf(field)], ...timestampData });
}

function readFields(pdf: Buffer): { reader: PdfReader; all: FilledSignatureField[]; signatures: FilledSignatureField[]; timestamps: FilledSignatureField[] } {
  return asDocumentError(() => {
    const reader = PdfReader.open(pdf);
    const all = filledSignatureFields(reader);
    const timestamps = all.filter((field) => isName(reader.resolve(field.value.get('Type')), 'DocTimeStamp'));
    return { reader, all, signatures: all.filter((field) => !timestamps.includes(field)), timestamps };
  });
}

/** Where a signature's /ByteRange ends: later signatures reach further into the file. */
function endOf(field: FilledSignatureField, reader: PdfReader): number {
  const range = reader.resolve(field.value.get('ByteRange'));
  return Array.isArray(range) && range.length === 4 && typeof range[2] === 'number' && typeof range[3] === 'number' ? range[2] + range[3] : -1;
}
