import { createHash, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { checkSigner, checkTimestampToken, type SignatureTimestamp, type SignerCheck } from '../../verify/cms-signer-check.js';
import { CmsFormatError, readCmsSignedData } from '../../verify/signed-data.js';
import { PdfName, PdfString, isName, type PdfDict, type PdfObject } from '../objects.js';
import { readDss } from '../pades/dss.js';
import { filledSignatureFields } from '../pades/signature-field.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { changesAfterSigning } from './changes-after-signing.js';

/*
 * The signatures of a PDF, each checked on its own (ISO 32000-1 §12.8.1, ISO 32000-2 §12.8.5, ETSI EN
 * 319 142-1): its /ByteRange must leave out exactly its /Contents string and start at the file's
 * first byte; the CMS (or, for a document time-stamp, the RFC 3161 token) must hold over those ranges;
 * the ranges must end where a revision ends; and what later revisions changed is judged
 * (changes-after-signing.ts). Reading and judging only — trust in the signer is the caller's question.
 */

export type PdfSignatureFormat = 'PAdES' | 'PKCS#7' | 'DocumentTimestamp';
export type PadesLevel = 'B-B' | 'B-T' | 'B-LT' | 'B-LTA';

export interface PdfSignatureFinding {
  /** Fully qualified field name. */
  field: string;
  format: PdfSignatureFormat;
  /** ETSI baseline level reached (PKCS#7 signatures are graded on the same scale); none for a document time-stamp. */
  level?: PadesLevel;
  subFilter?: string;
  /** /M of the signature dictionary: the time the signer claims. */
  claimedTime?: Date;
  intact: boolean;
  certificate?: X509Certificate;
  /** Certificates the signature carries, and those of the document's DSS: the pool a chain is built from. */
  certificatesDer: Buffer[];
  /** The signature time-stamp, or for a document time-stamp the token itself. */
  timestamp?: SignatureTimestamp;
  /** Offset just past the signed revision (byteRange[2] + byteRange[3]). */
  signedEnd?: number;
  problems: string[];
}

export function verifyPdfSignatures(pdf: Buffer): PdfSignatureFinding[] {
  const reader = PdfReader.openForValidation(pdf);
  const fields = filledSignatureFields(reader);
  const findings = fields.map((field) => verifyField(pdf, reader, field.name, field.value));
  const dssCertificates = safely(() => readDss(reader)?.certificates, []) ?? [];
  for (const finding of findings) {
    finding.certificatesDer.push(...dssCertificates);
    if (reader.recovered) {
      finding.problems.unshift(
        `structure_repaired: the file's cross-reference is damaged (${reader.recovered.replace(/^Not a readable PDF: /, '')}); ` +
          'it was read by scanning for its objects, as viewers do, so what a viewer shows may differ from what was signed',
      );
    }
  }
  assignLevels(pdf, findings);
  return findings;
}

function verifyField(pdf: Buffer, reader: PdfReader, field: string, value: PdfDict): PdfSignatureFinding {
  const subFilter = nameOf(reader.resolve(value.get('SubFilter')));
  const documentTimestamp = isName(reader.resolve(value.get('Type')), 'DocTimeStamp') || subFilter === 'ETSI.RFC3161';
  const finding: PdfSignatureFinding = {
    field,
    format: documentTimestamp ? 'DocumentTimestamp' : subFilter === 'ETSI.CAdES.detached' ? 'PAdES' : 'PKCS#7',
    subFilter,
    claimedTime: pdfDateOf(reader.resolve(value.get('M'))),
    intact: false,
    certificatesDer: [],
    problems: [],
  };
  const contents = reader.resolve(value.get('Contents'));
  const byteRange = reader.resolve(value.get('ByteRange'));
  if (!(contents instanceof PdfString)) {
    finding.problems.push('signature_unreadable: the signature dictionary has no /Contents string');
    return finding;
  }
  const ranges = readRanges(pdf, byteRange, finding.problems);
  if (!ranges) return finding;
  finding.signedEnd = ranges[ranges.length - 1][1];
  checkHole(pdf, ranges, finding.problems);

  const digests = new Map<string, Buffer>();
  const digestOf = (name: string) => {
    let digest = digests.get(name);
    if (!digest) {
      const hash = createHash(name);
      for (const [start, end] of ranges) hash.update(pdf.subarray(start, end));
      digest = hash.digest();
      digests.set(name, digest);
    }
    return digest;
  };

  const der = withoutPadding(contents.bytes);
  if (documentTimestamp) {
    finding.timestamp = checkTimestampToken(der, digestOf, 'document time-stamp', finding.problems);
    finding.intact = finding.timestamp?.intact ?? false;
    finding.certificate = finding.timestamp?.certificate;
    finding.certificatesDer.push(...(finding.timestamp?.certificatesDer ?? []));
  } else {
    verifyCms(der, subFilter, digestOf, finding);
  }
  checkCoverage(pdf, finding);
  return finding;
}

function verifyCms(der: Buffer, subFilter: string | undefined, digestOf: (name: string) => Buffer, finding: PdfSignatureFinding): void {
  let cms;
  try {
    cms = readCmsSignedData(der);
  } catch (error) {
    const reason = error instanceof CmsFormatError ? error.message : 'unreadable';
    finding.problems.push(`signature_unreadable: /Contents is not a CMS signature (${reason})`);
    return;
  }
  finding.certificatesDer.push(...cms.certificates);
  if (cms.signerInfos.length !== 1) {
    finding.problems.push(`signature_unreadable: the CMS has ${cms.signerInfos.length} signers; a PDF signature has one`);
    if (cms.signerInfos.length === 0) return;
  }
  let content = { digest: digestOf };
  if (subFilter === 'adbe.pkcs7.sha1') {
    // ISO 32000-1 §12.8.3.3.1: the CMS signs the SHA-1 digest of the ranges, carried as its content.
    if (!cms.eContent?.equals(digestOf('sha1'))) finding.problems.push('digest_mismatch: the SHA-1 digest the signature carries is not that of the signed bytes');
    const eContent = cms.eContent ?? Buffer.alloc(0);
    content = { digest: (name: string) => createHash(name).update(eContent).digest() };
  } else if (cms.eContent !== undefined) {
    finding.problems.push(`not_detached: the ${subFilter ?? 'signature'} CMS encapsulates content; a detached PDF signature must not (ISO 32000-1 §12.8.3.3.1)`);
  }
  const check: SignerCheck = checkSigner(cms, cms.signerInfos[0], content);
  finding.intact = check.intact && !finding.problems.some((problem) => problem.startsWith('digest_mismatch') || problem.startsWith('not_detached'));
  finding.certificate = check.certificate;
  finding.timestamp = check.timestamp;
  finding.problems.push(...check.problems);
  if (finding.format === 'PAdES' && check.essSigningCertificate === 'none') {
    finding.problems.push(
      'signing_certificate_unbound: the signature does not name its certificate in a signing-certificate attribute ' +
        '(ETSI EN 319 142-1 §6.3), so another certificate with the same key could be put in its place',
    );
  }
  finding.claimedTime ??= check.claimedSigningTime;
}

/** /ByteRange as [start, end) pairs; problems for anything but `[0 a b c]` inside the file. */
function readRanges(pdf: Buffer, byteRange: PdfObject | undefined, problems: string[]): Array<[number, number]> | undefined {
  if (!Array.isArray(byteRange) || byteRange.length % 2 !== 0 || byteRange.length === 0 || !byteRange.every((n) => Number.isInteger(n) && (n as number) >= 0)) {
    problems.push('byte_range_invalid: /ByteRange is not a list of offset and length pairs; nothing it covers can be trusted');
    return undefined;
  }
  const numbers = byteRange as number[];
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < numbers.length; i += 2) {
    const [start, length] = [numbers[i], numbers[i + 1]];
    if (start + length > pdf.length || (ranges.length > 0 && start < ranges[ranges.length - 1][1])) {
      problems.push('byte_range_invalid: /ByteRange points outside the file or its ranges overlap');
      return undefined;
    }
    ranges.push([start, start + length]);
  }
  if (numbers.length !== 4) problems.push(`byte_range_invalid: /ByteRange has ${numbers.length} numbers, not the four of a signature over all but its /Contents`);
  if (numbers[0] !== 0) problems.push('byte_range_invalid: /ByteRange does not start at the first byte of the file');
  return ranges;
}

/** The one gap between the ranges must be exactly the /Contents hex string `<…>`. */
function checkHole(pdf: Buffer, ranges: Array<[number, number]>, problems: string[]): void {
  if (ranges.length !== 2) return;
  const [holeStart, holeEnd] = [ranges[0][1], ranges[1][0]];
  if (pdf[holeStart] !== 0x3c || pdf[holeEnd - 1] !== 0x3e || !/^[0-9a-fA-F\s]*$/.test(pdf.toString('latin1', holeStart + 1, holeEnd - 1))) {
    problems.push('byte_range_invalid: the bytes /ByteRange leaves out are not exactly the /Contents hex string');
  }
}

/**
 * The signed revision must end where the file does, or where a revision ends (`%%EOF` and its line
 * end); then later revisions are compared with it.
 */
function checkCoverage(pdf: Buffer, finding: PdfSignatureFinding): void {
  const end = finding.signedEnd;
  if (end === undefined || end === pdf.length) return;
  if (!endsRevision(pdf, end)) {
    finding.problems.push(
      `coverage_nonstandard: the signature covers bytes 0–${end} of ${pdf.length}, which is not the end of a revision; ` +
        'the bytes after it are not signed and are not a clean incremental update',
    );
    return;
  }
  try {
    const signed = PdfReader.openForValidation(pdf.subarray(0, end));
    finding.problems.push(...changesAfterSigning(signed, PdfReader.openForValidation(pdf)));
  } catch (error) {
    finding.problems.push(`modified_after_signing: the signed revision cannot be read on its own to compare it (${(error as Error).message})`);
  }
}

function endsRevision(pdf: Buffer, end: number): boolean {
  const eof = pdf.lastIndexOf('%%EOF', end, 'latin1');
  if (eof < 0) return false;
  let after = eof + 5;
  while (after < end && (pdf[after] === 0x0d || pdf[after] === 0x0a || pdf[after] === 0x20)) after++;
  return after === end;
}

/**
 * Levels (ETSI EN 319 142-1 §6) of intact signatures: B-T with a signature time-stamp or a document
 * time-stamp over the signature; B-LT when the DSS also holds the signer's certificate and revocation
 * data; B-LTA when a document time-stamp covers a revision whose DSS has them. Whether that revocation
 * data is complete for the whole chain is not judged here.
 */
function assignLevels(pdf: Buffer, findings: PdfSignatureFinding[]): void {
  const documentTimestamps = findings.filter((finding) => finding.format === 'DocumentTimestamp' && finding.intact && finding.signedEnd !== undefined);
  const dssAt = new Map<number, Buffer[]>();
  // The DSS's certificates when it also has revocation data (CRLs or OCSP responses), else none.
  const dssCertificatesAt = (end: number) => {
    if (!dssAt.has(end)) {
      const dss = safely(() => readDss(PdfReader.openForValidation(pdf.subarray(0, end))), undefined);
      dssAt.set(end, dss && dss.crls.length + dss.ocsps.length > 0 ? dss.certificates : []);
    }
    return dssAt.get(end)!;
  };
  const wholeDss = dssCertificatesAt(pdf.length);
  for (const finding of findings) {
    if (finding.format === 'DocumentTimestamp' || finding.signedEnd === undefined || !finding.intact) continue;
    const end = finding.signedEnd;
    const later = documentTimestamps.filter((timestamp) => timestamp.signedEnd! > end);
    const holdsSigner = (certificates: Buffer[]) => !!finding.certificate && certificates.some((der) => der.equals(finding.certificate!.raw));
    let level: PadesLevel = 'B-B';
    if (finding.timestamp?.intact || later.length > 0) level = 'B-T';
    if (level === 'B-T' && holdsSigner(wholeDss)) level = 'B-LT';
    if (level === 'B-LT' && later.some((timestamp) => holdsSigner(dssCertificatesAt(timestamp.signedEnd!)))) level = 'B-LTA';
    finding.level = level;
  }
}

/**
 * A CMS in /Contents is followed by zero padding up to the reserved size: cut at the length its outer
 * header gives. An indefinite length (BER) ends in zero octets itself, so it is kept whole; the reader
 * stops at its end-of-contents.
 */
function withoutPadding(bytes: Buffer): Buffer {
  if (bytes[0] !== 0x30 || bytes[1] === undefined) return bytes;
  if (bytes[1] === 0x80) {
    const parsed = asn1js.fromBER(bytes);
    return parsed.offset > 0 ? bytes.subarray(0, parsed.offset) : bytes;
  }
  const first = bytes[1];
  if (first < 0x80) return bytes.subarray(0, Math.min(bytes.length, 2 + first));
  const octets = first & 0x7f;
  if (octets > 4) return bytes;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i];
  return bytes.subarray(0, Math.min(bytes.length, 2 + octets + length));
}

function nameOf(value: PdfObject | undefined): string | undefined {
  return value instanceof PdfName ? value.value : undefined;
}

/** §7.9.4: D:YYYYMMDDHHmmSSOHH'mm; a date that cannot be read is no date. */
function pdfDateOf(value: PdfObject | undefined): Date | undefined {
  if (!(value instanceof PdfString)) return undefined;
  const match = /^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+-])?(\d{2})?'?(\d{2})?/.exec(value.latin1);
  if (!match) return undefined;
  const [, year, month = '01', day = '01', hour = '00', minute = '00', second = '00', sign, offsetHours = '00', offsetMinutes = '00'] = match;
  const utc = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second);
  const offset = sign === '+' || sign === '-' ? (sign === '-' ? -1 : 1) * (+offsetHours * 60 + +offsetMinutes) : 0;
  const date = new Date(utc - offset * 60_000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
