import { createHash, type X509Certificate } from 'node:crypto';
import { checkSigner, checkTimestampToken, type SignatureTimestamp, type SignerCheck } from '../../verify/cms-signer-check.js';
import { CmsFormatError, readCmsSignedData } from '../../verify/signed-data.js';
import { PdfDict, PdfName, PdfRef, PdfString, isName, type PdfObject } from '../objects.js';
import { readDss, type DssContent } from '../reader/document-security-store.js';
import { filledSignatureFields } from '../reader/form-fields.js';
import { keywordPositions, revisionEndAfter } from '../reader/keyword-positions.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { changesAfterSigning, samePdfObject } from './changes-after-signing.js';
import { readBer } from '../../cms/read-ber.js';
import { cmsValidationValues } from '../../verify/cms-validation-values.js';
import type { RevocationValues } from '../../validation/signature-evidence.js';
import { findPage } from '../reader/page-tree.js';
import { carriesValidationData } from '../../validation/long-term-data.js';

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
  /** Revocation data the signature and the document's DSS carry. */
  revocation: RevocationValues;
  problems: string[];
}

/** More signature fields than this are not checked one by one (each costs a digest of the whole file). */
const MAX_SIGNATURES = 100;

export function verifyPdfSignatures(pdf: Buffer): PdfSignatureFinding[] {
  const whole = PdfReader.openForValidation(pdf);
  const revisions = new Revisions(pdf, whole);
  const fields = filledSignatureFields(whole);
  const owners = new Map<number, string[]>();
  const signatureNums: number[] = [];
  const findings = fields.slice(0, MAX_SIGNATURES).map((field) => {
    const signatureNum = signatureObjectOf(whole, field.ref);
    owners.set(signatureNum, [...(owners.get(signatureNum) ?? []), field.name]);
    signatureNums.push(signatureNum);
    return verifyField(pdf, whole, revisions, field.name, field.value, signatureNum);
  });
  findings.push(...removedSignatures(pdf, revisions, new Set(owners.keys()), MAX_SIGNATURES - findings.length));
  const dss = revisions.dss(pdf.length);
  findings.forEach((finding, index) => {
    finding.certificatesDer.push(...(dss?.certificates ?? []));
    finding.revocation.ocsps.push(...(dss?.ocsps ?? []));
    finding.revocation.crls.push(...(dss?.crls ?? []));
    const sharing = index < signatureNums.length ? (owners.get(signatureNums[index]) ?? []) : [];
    if (sharing.length > 1) {
      finding.intact = false;
      finding.problems.push(`signature_reused: one signature dictionary is the value of ${sharing.length} fields (${sharing.join(', ')}); it signed only one of them`);
    }
    if (whole.recovered) {
      finding.problems.unshift(
        `structure_repaired: the file's cross-reference is damaged (${whole.recovered.replace(/^Not a readable PDF: /, '')}); ` +
          'it was read by scanning for its objects, as viewers do, so what a viewer shows may differ from what was signed',
      );
    }
  });
  if (fields.length > MAX_SIGNATURES) {
    findings[findings.length - 1].problems.push(`too_many_signatures: the document has ${fields.length} signature fields; the first ${MAX_SIGNATURES} were checked`);
  }
  assignLevels(revisions, findings);
  return findings;
}

/** Earlier revisions looked at for signatures a later one removed from the form. */
const MAX_EARLIER_REVISIONS = 32;

/**
 * Signatures that an earlier revision's form has and the whole file's does not — a later update took
 * them out (or replaced the catalog). Each is checked against the revision that had it and reported
 * with `signature_removed`, so removing a signature from the form does not make it vanish from the answer.
 */
function removedSignatures(pdf: Buffer, revisions: Revisions, present: Set<number>, room: number): PdfSignatureFinding[] {
  const found: PdfSignatureFinding[] = [];
  const ends = keywordPositions(pdf, '%%EOF')
    .map((eof) => revisionEndAfter(pdf, eof))
    .filter((end) => end < pdf.length)
    .slice(0, MAX_EARLIER_REVISIONS);
  for (const end of ends.reverse()) {
    const reader = revisions.reader(end);
    if (reader instanceof Error) continue;
    for (const field of safely(() => filledSignatureFields(reader), [])) {
      if (found.length >= room) return found;
      const signatureNum = signatureObjectOf(reader, field.ref);
      if (present.has(signatureNum)) continue;
      present.add(signatureNum);
      const finding = verifyField(pdf, reader, revisions, field.name, field.value, signatureNum);
      finding.problems.unshift(`signature_removed: a later revision took the field "${field.name}" with this signature out of the document's form`);
      found.push(finding);
    }
  }
  return found;
}

/** The object holding a field's signature dictionary: its /V when indirect, else the field itself. */
function signatureObjectOf(reader: PdfReader, fieldRef: PdfRef): number {
  const field = safely(() => reader.getObject(fieldRef), null);
  const value = field instanceof PdfDict ? field.get('V') : undefined;
  return value instanceof PdfRef ? value.num : fieldRef.num;
}

/**
 * The document as of each signed revision (the bytes up to a /ByteRange's end), read once per end and
 * compared with the whole file once per end: a file with many signatures must not cost many passes.
 */
class Revisions {
  private readonly readers = new Map<number, PdfReader | Error>();
  private readonly changes = new Map<number, string[]>();
  private readonly stores = new Map<number, DssContent | undefined>();
  private readonly pages = new Map<number, { signed: number; now: number } | null>();

  constructor(
    readonly pdf: Buffer,
    readonly whole: PdfReader,
  ) {}

  reader(end: number): PdfReader | Error {
    if (end === this.pdf.length) return this.whole;
    let reader = this.readers.get(end);
    if (!reader) {
      reader = safely<PdfReader | Error>(() => PdfReader.openForValidation(this.pdf.subarray(0, end)), new Error('unreadable'));
      this.readers.set(end, reader);
    }
    return reader;
  }

  /** The revision's document security store, read once. */
  dss(end: number): DssContent | undefined {
    if (!this.stores.has(end)) {
      const reader = this.reader(end);
      this.stores.set(end, reader instanceof Error ? undefined : safely(() => readDss(reader), undefined));
    }
    return this.stores.get(end);
  }

  /** Pages in the revision ending at `end` and in the whole file; undefined when either cannot be counted. */
  pageCounts(end: number): { signed: number; now: number } | undefined {
    const signed = this.reader(end);
    if (signed instanceof Error || end === this.pdf.length) return undefined;
    let counts = this.pages.get(end);
    if (counts === undefined) {
      counts = safely(() => ({ signed: findPage(signed, 0).pageCount, now: findPage(this.whole, 0).pageCount }), null);
      this.pages.set(end, counts);
    }
    return counts ?? undefined;
  }

  changesAfter(end: number): string[] {
    let found = this.changes.get(end);
    if (!found) {
      const signed = this.reader(end);
      found =
        signed instanceof Error
          ? ['modified_after_signing: the signed revision cannot be read on its own to compare it with the file']
          : safely(() => changesAfterSigning(signed, this.whole), ['modified_after_signing: the revisions could not be compared']);
      this.changes.set(end, found);
    }
    return found;
  }
}

function verifyField(pdf: Buffer, whole: PdfReader, revisions: Revisions, field: string, current: PdfDict, signatureNum: number): PdfSignatureFinding {
  const subFilter = nameOf(whole.resolve(current.get('SubFilter')));
  const documentTimestamp = isName(whole.resolve(current.get('Type')), 'DocTimeStamp') || subFilter === 'ETSI.RFC3161';
  const finding: PdfSignatureFinding = {
    field,
    format: documentTimestamp ? 'DocumentTimestamp' : subFilter === 'ETSI.CAdES.detached' ? 'PAdES' : 'PKCS#7',
    subFilter,
    claimedTime: pdfDateOf(whole.resolve(current.get('M'))),
    intact: false,
    certificatesDer: [],
    revocation: { ocsps: [], crls: [] },
    problems: [],
  };
  const ranges = readRanges(pdf, whole.resolve(current.get('ByteRange')), finding.problems);
  if (!ranges) return finding;
  finding.signedEnd = ranges[ranges.length - 1][1];
  // What was signed is the signature dictionary as the signed revision has it, not as later updates may show it.
  const signed = revisions.reader(finding.signedEnd);
  const value = signed instanceof Error ? undefined : safely(() => signatureValueIn(signed, signatureNum), undefined);
  if (!value || signed instanceof Error) {
    finding.problems.push('signature_unreadable: the signature dictionary is not part of the revision its /ByteRange covers');
    return finding;
  }
  if (!samePdfObject(signed.resolve(value.get('ByteRange')), whole.resolve(current.get('ByteRange')))) {
    finding.problems.push('byte_range_invalid: /ByteRange was changed after signing');
    return finding;
  }
  // DSS's default policy fails these two (format checking): what the dictionary says (/Reason, /M,
  // /Name …) and how many pages there are must be what was signed.
  if (!samePdfObject(value, current)) {
    finding.problems.push('signature_dictionary_modified: a later revision changed the signature dictionary; what it says now (/Reason, /M, /Name …) is not what was signed');
  }
  const pages = revisions.pageCounts(finding.signedEnd);
  if (pages && pages.signed !== pages.now) {
    finding.problems.push(`pages_changed: the document had ${pages.signed} page(s) when signed and has ${pages.now} now`);
  }
  const contents = value.get('Contents');
  if (!(contents instanceof PdfString)) {
    finding.problems.push('signature_unreadable: the signature dictionary has no direct /Contents string');
    return finding;
  }
  if (!holeIsContents(pdf, signed, signatureNum, ranges, contents)) {
    finding.problems.push('byte_range_invalid: the bytes /ByteRange leaves out are not exactly this signature\'s /Contents');
    return finding;
  }

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
  checkCoverage(revisions, finding);
  return finding;
}

/** The signature dictionary in a revision: object `num` itself, or the /V of the field that object is. */
function signatureValueIn(reader: PdfReader, num: number): PdfDict | undefined {
  const object = reader.getObject(num);
  if (!(object instanceof PdfDict)) return undefined;
  if (object.has('ByteRange') || object.has('Contents')) return object;
  const value = reader.resolve(object.get('V'));
  return value instanceof PdfDict ? value : undefined;
}

/**
 * The one gap between the ranges must be this signature's own /Contents: inside the bytes of the
 * object that holds its signature dictionary in the signed revision, a hex string `<…>` whose value is
 * that /Contents. (Any other hex string left out — in a content stream, say — could be changed at will.)
 */
function holeIsContents(pdf: Buffer, signed: PdfReader, signatureNum: number, ranges: Array<[number, number]>, contents: PdfString): boolean {
  if (ranges.length !== 2) return false;
  const [holeStart, holeEnd] = [ranges[0][1], ranges[1][0]];
  const entry = signed.entry(signatureNum);
  if (entry?.type !== 'offset') return false;
  const objectEnd = pdf.indexOf('endobj', entry.offset, 'latin1');
  if (!(entry.offset < holeStart && holeEnd <= (objectEnd < 0 ? pdf.length : objectEnd))) return false;
  if (pdf[holeStart] !== 0x3c || pdf[holeEnd - 1] !== 0x3e) return false;
  const hex = pdf.toString('latin1', holeStart + 1, holeEnd - 1).replace(/[\s]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex)) return false;
  return Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex').equals(contents.bytes);
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
  if (cms.signerInfos[0]) {
    const values = cmsValidationValues(cms, cms.signerInfos[0]);
    finding.certificatesDer.push(...values.certificates);
    finding.revocation.ocsps.push(...values.ocsps);
    finding.revocation.crls.push(...values.crls);
  }
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

/**
 * The signed revision must end where the file does, or where a revision ends (`%%EOF` and its line
 * end); then later revisions are compared with it.
 */
function checkCoverage(revisions: Revisions, finding: PdfSignatureFinding): void {
  const { pdf } = revisions;
  const end = finding.signedEnd;
  if (end === undefined || end === pdf.length) return;
  if (!endsRevision(pdf, end)) {
    finding.problems.push(
      `coverage_nonstandard: the signature covers bytes 0–${end} of ${pdf.length}, which is not the end of a revision; ` +
        'the bytes after it are not signed and are not a clean incremental update',
    );
    return;
  }
  finding.problems.push(...revisions.changesAfter(end));
}

function endsRevision(pdf: Buffer, end: number): boolean {
  const eof = pdf.lastIndexOf('%%EOF', end, 'latin1');
  return eof >= 0 && end >= eof + 5 && end <= revisionEndAfter(pdf, eof);
}

/**
 * Levels (ETSI EN 319 142-1 §6) of intact signatures: B-T with a signature time-stamp or a document
 * time-stamp over the signature; B-LT when the DSS also holds the signer's certificate and revocation
 * data; B-LTA when a document time-stamp covers a revision whose DSS has them. Whether that revocation
 * data is complete for the whole chain is not judged here.
 */
function assignLevels(revisions: Revisions, findings: PdfSignatureFinding[]): void {
  const { pdf } = revisions;
  const documentTimestamps = findings.filter((finding) => finding.format === 'DocumentTimestamp' && finding.intact && finding.signedEnd !== undefined);
  const wholeDss = revisions.dss(pdf.length);
  const hasRevocationDataAt = (end: number) => {
    const dss = revisions.dss(end);
    return !!dss && dss.crls.length + dss.ocsps.length > 0;
  };
  for (const finding of findings) {
    if (finding.format === 'DocumentTimestamp' || finding.signedEnd === undefined || !finding.intact) continue;
    const end = finding.signedEnd;
    const later = documentTimestamps.filter((timestamp) => timestamp.signedEnd! > end);
    let level: PadesLevel = 'B-B';
    if (finding.timestamp?.intact || later.length > 0) level = 'B-T';
    // EN 319 142-1 §5.4: the validation data is in the document's DSS (as it is now) — the signer's whole chain with revocation data.
    if (level === 'B-T' && finding.certificate && wholeDss && carriesValidationData(finding.certificate, [...finding.certificatesDer, ...(finding.timestamp?.certificatesDer ?? [])], wholeDss, finding.timestamp?.certificate)) level = 'B-LT';
    // Then a document time-stamp over a revision that already held validation data.
    if (level === 'B-LT' && later.some((timestamp) => hasRevocationDataAt(timestamp.signedEnd!))) level = 'B-LTA';
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
    const parsed = readBer(bytes);
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
