import type { PdfSignatureFinding } from '../pdf/validation/pdf-signatures.js';
import { timeOf, timestampEvidence, type SignatureFinding } from './signature-finding.js';

/*
 * A PDF's signatures as findings (ETSI EN 319 142-1). A document time-stamp added after a signature
 * covers it (PAdES-LTA, §5.4: the revision it signs contains the signature and its validation data), so
 * it is one of that signature's time-stamps; a document time-stamp is itself judged like a signature by
 * its TSA, proven by the document time-stamps after it.
 */
export function pdfFindings(findings: PdfSignatureFinding[]): SignatureFinding[] {
  const documentTimestamps = findings.filter((finding) => finding.format === 'DocumentTimestamp' && finding.timestamp && finding.signedEnd !== undefined);
  return findings.map((finding) => {
    const isTimestamp = finding.format === 'DocumentTimestamp';
    const later = documentTimestamps.filter((other) => other !== finding && finding.signedEnd !== undefined && other.signedEnd! > finding.signedEnd);
    const claimed = isTimestamp ? finding.timestamp?.genTime : finding.claimedTime;
    return {
      format: finding.format,
      ...(finding.level && { level: finding.level }),
      field: finding.field,
      intact: finding.intact,
      ...(finding.timestamp && { timestamp: timeOf(finding.timestamp) }),
      evidence: {
        problems: finding.problems,
        ...(finding.certificate && { signingCertificateDer: finding.certificate.raw }),
        certificatesDer: finding.certificatesDer,
        ...(claimed && { claimedSigningTime: claimed }),
        timestamps: [
          ...(!isTimestamp && finding.timestamp ? [timestampEvidence('signature', finding.timestamp)] : []),
          ...later.map((other) => timestampEvidence('document', other.timestamp!)),
        ],
        revocation: finding.revocation,
      },
    };
  });
}
