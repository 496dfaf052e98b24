import { createHash, type X509Certificate } from 'node:crypto';
import { asDocumentError } from '../../crypto/pdf/pdf-error.js';
import { verifyPdfSignatures, type PdfSignatureFinding } from '../../crypto/pdf/validation/pdf-signatures.js';
import { checkArchiveTimestamps } from '../../crypto/verify/archive-timestamp-check.js';
import type { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import { checkSigner, oneLine, type SignatureTimestamp } from '../../crypto/verify/cms-signer-check.js';
import { CmsFormatError, readCmsSignedData, type CmsSignedData } from '../../crypto/verify/signed-data.js';
import { verifyXmlSignatures, type XmlSignatureFinding } from '../../crypto/xml/validation/xml-signatures.js';
import { SignetError } from '../../errors/signet-error.js';

/*
 * The signatures of one uploaded document, as POST /v1/verify reports them (API.md §6): a PDF's
 * (PAdES, PKCS#7, document time-stamps), signed XML (XAdES, XMLDSig), or a CMS with or without the
 * file it signs — each with whether its bytes are intact, whether its signer chains to a trust anchor,
 * and every problem found. A pure function of the bytes: it runs on a verification thread
 * (verify-thread.ts), since a large document takes the CPU for a while.
 */

export interface SignatureReport {
  /** PAdES, PKCS#7 (a PDF signature outside the ETSI profile), DocumentTimestamp, CAdES, CMS, XAdES or XMLDSig. */
  format: string;
  /** B-B, B-T, B-LT or B-LTA as the signature's structure shows it; null when it is not intact. */
  level: string | null;
  /** The PDF signature field. */
  field?: string;
  signer: { subject: string; issuer: string; serial: string } | null;
  /** The time the signer claims (/M, or the signingTime attribute), not a proof. */
  signingTime: string | null;
  timestamp?: { genTime: string; tsa: string };
  /** CAdES content time-stamp: the content existed at that time. */
  contentTimestamp?: { genTime: string; tsa: string };
  intact: boolean;
  trusted: boolean;
  problems: string[];
}

export interface VerificationInput {
  file: Buffer;
  /** The uploaded file's name and media type: a `.p7m` must be a CMS, whatever its bytes look like. */
  fileName?: string;
  contentType?: string;
  /** A detached CMS (.p7s) over `file`. */
  signature?: Buffer;
}

/** What the verification thread answers: the signatures, and the SHA-256 the registrations are looked up by. */
export interface DocumentCheck {
  signatures: SignatureReport[];
  sha256: string;
}

/** Signatures and content hash in one go, off the event loop (a 100 MB upload takes ~50 ms to hash). */
export function checkDocument(input: VerificationInput, anchors: TrustAnchors, now: Date): DocumentCheck {
  return { signatures: reportSignatures(input, anchors, now), sha256: createHash('sha256').update(input.file).digest('hex') };
}

/** Every signature of the document; an unsigned file has none. */
export function reportSignatures(input: VerificationInput, anchors: TrustAnchors, now: Date): SignatureReport[] {
  if (input.signature) return [verifyCades(readCms(input.signature, 'signature'), input.file, anchors, now)];
  if (isPdf(input)) return asDocumentError(() => verifyPdfSignatures(input.file)).map((finding) => pdfReport(finding, anchors, now));
  return verifyWithoutSignaturePart(input, anchors, now);
}

/**
 * A file that is not a PDF: signed XML (XMLDSig, XAdES), a CMS with its content inside (.p7m), a
 * detached CMS sent alone (refused: the content is missing), or any other file — which has no
 * signature to check but may have been registered.
 */
function verifyWithoutSignaturePart(input: VerificationInput, anchors: TrustAnchors, now: Date): SignatureReport[] {
  const file = input.file;
  if (looksLikeXml(file)) return verifyXmlSignatures(file).map((finding) => xmlReport(finding, anchors, now));
  // A file named or typed as a CMS, or PEM-armoured, must be one; other bytes that merely start like a
  // DER SEQUENCE (0x30, also the digit "0") are a CMS only if they read as one.
  const mustBeCms =
    /\.(p7m|p7s|p7b|p7c|pkcs7|cms)$/i.test(input.fileName ?? '') || /pkcs7|cms/i.test(input.contentType ?? '') || file.subarray(0, 16).toString('latin1').startsWith('-----BEGIN');
  if (!mustBeCms && (file[0] !== 0x30 || !readsAsCms(file))) return [];
  const cms = readCms(file, 'file');
  if (cms.eContent === undefined) {
    throw new SignetError('invalid_request', 'The file is a detached CMS signature: send the signed file as "file" and this signature as "signature"', {
      field: 'signature',
    });
  }
  return [verifyCades(cms, cms.eContent, anchors, now)];
}

function readsAsCms(bytes: Buffer): boolean {
  try {
    readCmsSignedData(bytes);
    return true;
  } catch {
    return false;
  }
}

function readCms(bytes: Buffer, field: string): CmsSignedData {
  try {
    return readCmsSignedData(pemOrDer(bytes));
  } catch (error) {
    if (!(error instanceof CmsFormatError)) throw error;
    throw new SignetError('invalid_request', `The ${field} is neither a PDF nor a CMS signature (${error.message})`, { field });
  }
}

function verifyCades(cms: CmsSignedData, content: Buffer, anchors: TrustAnchors, now: Date): SignatureReport {
  if (cms.signerInfos.length === 0) throw new SignetError('invalid_request', 'The CMS has no signer', { field: 'signature' });
  const signer = cms.signerInfos[0];
  const signedContent = { digest: (name: string) => createHash(name).update(content).digest() };
  const check = checkSigner(cms, signer, signedContent);
  const problems = [...check.problems];
  const archived = checkArchiveTimestamps(cms, signer, signedContent, problems);
  if (cms.signerInfos.length > 1) problems.push(`other_signers_not_checked: the CMS has ${cms.signerInfos.length} signers; the first is reported`);
  let level: string | null = null;
  if (check.intact) {
    level = check.essSigningCertificate === 'v2' ? 'B-B' : null;
    if (level && check.timestamp?.intact) level = 'B-T';
    if (level === 'B-T' && cms.hasRevocationData) level = 'B-LT';
    if (level === 'B-LT' && archived.length > 0 && archived.every((timestamp) => timestamp.intact)) level = 'B-LTA';
    if (check.essSigningCertificate !== 'v2') {
      problems.push('not_baseline: without the signing-certificate-v2 attribute this is a CMS signature, not CAdES (ETSI EN 319 122-1 §5.2.2)');
    }
  }
  const trust = trustOf(check.certificate, [...cms.certificates, ...(check.timestamp?.certificatesDer ?? [])], anchors, check.timestamp, now);
  return {
    format: check.essSigningCertificate === 'none' ? 'CMS' : 'CAdES',
    level,
    signer: signerOf(check.certificate),
    signingTime: check.claimedSigningTime?.toISOString() ?? null,
    ...timestampOf(check.timestamp),
    ...(check.contentTimestamp && { contentTimestamp: timestampOf(check.contentTimestamp).timestamp }),
    intact: check.intact,
    trusted: check.intact && trust.trusted,
    problems: [...problems, ...trust.problems],
  };
}

function xmlReport(finding: XmlSignatureFinding, anchors: TrustAnchors, now: Date): SignatureReport {
  const trust = trustOf(finding.certificate, finding.certificatesDer, anchors, finding.timestamp, now);
  return {
    format: finding.format,
    level: finding.intact ? (finding.level ?? null) : null,
    signer: signerOf(finding.certificate),
    signingTime: finding.claimedTime?.toISOString() ?? null,
    ...timestampOf(finding.timestamp),
    intact: finding.intact,
    trusted: finding.intact && trust.trusted,
    problems: [...finding.problems, ...trust.problems],
  };
}

function pdfReport(finding: PdfSignatureFinding, anchors: TrustAnchors, now: Date): SignatureReport {
  const ownTimestamp = finding.format === 'DocumentTimestamp' ? undefined : finding.timestamp;
  const trust = trustOf(finding.certificate, finding.certificatesDer, anchors, ownTimestamp, now);
  return {
    format: finding.format,
    level: finding.intact ? (finding.level ?? null) : null,
    field: finding.field,
    signer: signerOf(finding.certificate),
    signingTime: (finding.format === 'DocumentTimestamp' ? finding.timestamp?.genTime : finding.claimedTime)?.toISOString() ?? null,
    ...timestampOf(finding.timestamp),
    intact: finding.intact,
    trusted: finding.intact && trust.trusted,
    problems: [...finding.problems, ...trust.problems],
  };
}

/**
 * The chain is checked at the signature time-stamp's time when it has an intact one from a TSA that
 * itself chains to an anchor (then it proves the signature existed while the certificate was valid);
 * else now — a time-stamp anyone could have made proves nothing.
 */
function trustOf(certificate: X509Certificate | undefined, pool: Buffer[], anchors: TrustAnchors, timestamp: SignatureTimestamp | undefined, now: Date) {
  if (!certificate) return { trusted: false, problems: [] };
  const provenTime =
    timestamp?.intact && timestamp.certificate && anchors.verify(timestamp.certificate, [...timestamp.certificatesDer, ...pool], timestamp.genTime).trusted
      ? timestamp.genTime
      : now;
  return anchors.verify(certificate, pool, provenTime);
}

function signerOf(certificate: X509Certificate | undefined): SignatureReport['signer'] {
  if (!certificate) return null;
  return { subject: oneLine(certificate.subject), issuer: oneLine(certificate.issuer), serial: certificate.serialNumber.toLowerCase() };
}

function timestampOf(timestamp: SignatureTimestamp | undefined): Pick<SignatureReport, 'timestamp'> {
  return timestamp ? { timestamp: { genTime: timestamp.genTime.toISOString(), tsa: timestamp.tsa } } : {};
}

/** §7.5.2: `%PDF-` within the first 1024 bytes — or named or typed as a PDF, which must then be one. */
function isPdf(input: VerificationInput): boolean {
  return input.file.subarray(0, 1024).includes('%PDF-') || /\.pdf$/i.test(input.fileName ?? '') || /\/pdf\b/i.test(input.contentType ?? '');
}

/** `<` first, after a byte order mark and white space, in UTF-8 or UTF-16 (with or without its mark). */
function looksLikeXml(file: Buffer): boolean {
  if ((file[0] === 0xff && file[1] === 0xfe) || (file[0] === 0xfe && file[1] === 0xff)) return true;
  if ((file[0] === 0x3c && file[1] === 0x00) || (file[0] === 0x00 && file[1] === 0x3c)) return true;
  const start = file.toString('utf8', 0, Math.min(file.length, 64)).replace(/^\uFEFF/, '').trimStart();
  return start.startsWith('<');
}

/** A .p7s may come as PEM (`-----BEGIN PKCS7-----` or `CMS`); everything else is taken as DER/BER. */
function pemOrDer(bytes: Buffer): Buffer {
  const text = bytes.subarray(0, 64).toString('latin1');
  if (!text.startsWith('-----BEGIN')) return bytes;
  const body = bytes.toString('latin1').replace(/-----(BEGIN|END)[^-]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}
