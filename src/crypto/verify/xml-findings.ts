import type { XmlSignatureFinding } from '../xml/validation/xml-signatures.js';
import { timeOf, timestampEvidence, type SignatureFinding } from './signature-finding.js';

/** Signed XML's signatures (XAdES, XMLDSig) as findings. */
export function xmlFindings(findings: XmlSignatureFinding[]): SignatureFinding[] {
  return findings.map((finding) => ({
    format: finding.format,
    ...(finding.level && { level: finding.level }),
    intact: finding.intact,
    ...(finding.timestamp && { timestamp: timeOf(finding.timestamp) }),
    evidence: {
      problems: finding.problems,
      ...(finding.certificate && { signingCertificateDer: finding.certificate.raw }),
      certificatesDer: finding.certificatesDer,
      ...(finding.claimedTime && { claimedSigningTime: finding.claimedTime }),
      timestamps: [
        ...(finding.timestamp ? [timestampEvidence('signature', finding.timestamp)] : []),
        ...finding.archiveTimestamps.map((timestamp) => timestampEvidence('archive', timestamp)),
      ],
      revocation: finding.revocation,
    },
  }));
}
