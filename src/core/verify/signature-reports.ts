import { createHash } from 'node:crypto';
import { asDocumentError } from '../../crypto/pdf/pdf-error.js';
import { verifyPdfSignatures } from '../../crypto/pdf/validation/pdf-signatures.js';
import { validateSignature, type RevocationQuestion, type SignatureVerdict } from '../../crypto/validation/validate-signature.js';
import type { SignatureEvidence } from '../../crypto/validation/signature-evidence.js';
import type { TrustAnchors } from '../../crypto/verify/certificate-trust.js';
import { verifyXmlSignatures } from '../../crypto/xml/validation/xml-signatures.js';
import { cadesFindings } from '../../crypto/verify/cades-findings.js';
import { pdfFindings } from '../../crypto/verify/pdf-findings.js';
import type { SignatureFinding } from '../../crypto/verify/signature-finding.js';
import { xmlFindings } from '../../crypto/verify/xml-findings.js';

/*
 * The signatures of one uploaded document, as POST /v1/verify reports them (API.md §6): a PDF's
 * (PAdES, PKCS#7, document time-stamps), signed XML (XAdES, XMLDSig), or a CMS with or without the
 * file it signs. Each format's reader says what it found (signature-findings.ts, cades-findings.ts);
 * crypto/validation judges it as ETSI EN 319 102-1 does. A pure function of the bytes, the anchors,
 * the validation time and any revocation data fetched: it runs on a verification thread
 * (verify-thread.ts), and again on the main thread for the signatures whose revocation data had to
 * be fetched (verify-document.ts).
 */

export interface SignatureReport extends SignatureVerdict {
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
  /** errors and warnings together, as earlier clients read them. */
  problems: string[];
  /** CMS countersignatures (RFC 5652 §11.4), each with its own verdict. */
  counterSignatures?: SignatureReport[];
}

export interface VerificationInput {
  file: Buffer;
  /** The uploaded file's name and media type: a `.p7m` must be a CMS, whatever its bytes look like. */
  fileName?: string;
  contentType?: string;
  /** A detached CMS (.p7s) or XAdES signature over `file`. */
  signature?: Buffer;
}

export interface JudgementOptions {
  anchors: TrustAnchors;
  validationTime: Date;
  /** Whether missing revocation data may still be fetched (online verification, first pass). */
  canFetch: boolean;
}

/** What the verification thread answers: the reports, what they were judged from, and the SHA-256 the registrations are looked up by. */
export interface DocumentCheck {
  signatures: SignatureReport[];
  /** The findings behind each report (same order), for judging again with fetched revocation data; empty when nothing is to be fetched. */
  findings: SignatureFinding[];
  /** Revocation data that would decide a verdict, still to be fetched. */
  questions: RevocationQuestion[];
  sha256: string;
}

/** Signatures and content hash in one go, off the event loop (a 100 MB upload takes ~50 ms to hash). */
export function checkDocument(input: VerificationInput, options: JudgementOptions): DocumentCheck {
  const findings = findSignatures(input, options.anchors);
  const questions: RevocationQuestion[] = [];
  const signatures = findings.map((finding) => judge(finding, options, questions));
  // The findings (certificates, CRLs: megabytes for a CAdES-A) go back to the caller only when it will judge them again.
  return { signatures, findings: questions.length > 0 ? findings : [], questions, sha256: createHash('sha256').update(input.file).digest('hex') };
}

/** Every signature of the document; an unsigned file has none. */
function findSignatures(input: VerificationInput, anchors: TrustAnchors): SignatureFinding[] {
  if (input.signature) {
    // A detached XAdES over `file`, or a detached CMS (.p7s).
    if (looksLikeXml(input.signature)) return xmlFindings(verifyXmlSignatures(input.signature, input.file));
    return cadesFindings(input.signature, input.file, anchors);
  }
  if (isPdf(input)) return pdfFindings(asDocumentError(() => verifyPdfSignatures(input.file)));
  if (looksLikeXml(input.file)) return xmlFindings(verifyXmlSignatures(input.file));
  // A file named or typed as a CMS, or PEM-armoured, must be one; other bytes that merely start like a
  // DER SEQUENCE (0x30, also the digit "0") are a CMS only if they read as one.
  const mustBeCms =
    /\.(p7m|p7s|p7b|p7c|pkcs7|cms)$/i.test(input.fileName ?? '') ||
    /pkcs7|cms/i.test(input.contentType ?? '') ||
    input.file.subarray(0, 16).toString('latin1').startsWith('-----BEGIN');
  return cadesFindings(input.file, undefined, anchors, !mustBeCms);
}

/**
 * One finding's report, judged with the revocation data at hand; its countersignatures likewise.
 * Questions for revocation data still to fetch are added to `questions`.
 */
export function judge(finding: SignatureFinding, options: JudgementOptions, questions: RevocationQuestion[], fetched?: SignatureEvidence['revocation']): SignatureReport {
  const { verdict, questions: asked } = validateSignature(finding.evidence, {
    anchors: options.anchors,
    validationTime: options.validationTime,
    canFetch: options.canFetch,
    ...(fetched && { fetched }),
  });
  questions.push(...asked);
  const certificate = verdict.certificates[0];
  return {
    format: finding.format,
    level: finding.intact ? (finding.level ?? null) : null,
    ...(finding.field !== undefined && { field: finding.field }),
    signer: certificate ? { subject: certificate.subject, issuer: certificate.issuer, serial: certificate.serial } : null,
    signingTime: finding.evidence.claimedSigningTime?.toISOString() ?? null,
    ...(finding.timestamp && { timestamp: finding.timestamp }),
    ...(finding.contentTimestamp && { contentTimestamp: finding.contentTimestamp }),
    intact: finding.intact,
    ...verdict,
    trusted: finding.intact && verdict.trusted,
    problems: [...verdict.errors, ...verdict.warnings],
    ...(finding.counterSignatures && { counterSignatures: finding.counterSignatures.map((counter: SignatureFinding) => judge(counter, options, questions, fetched)) }),
  };
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
