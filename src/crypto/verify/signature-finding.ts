import type { SignatureEvidence } from '../validation/signature-evidence.js';
import type { SignatureTimestamp } from './cms-signer-check.js';
import type { TimestampEvidence, TimestampType } from '../validation/signature-evidence.js';

/*
 * One signature as a format reader (PDF, CMS, XML) found it: what the report shows as read (format,
 * level, field, time-stamp times) and the evidence the validation process judges. Plain data, so it
 * can leave the verification thread and be judged again with fetched revocation data.
 */
export interface SignatureFinding {
  format: string;
  /** B-B … B-LTA as the structure shows it (reported only when intact). */
  level?: string;
  field?: string;
  intact: boolean;
  timestamp?: { genTime: string; tsa: string };
  contentTimestamp?: { genTime: string; tsa: string };
  evidence: SignatureEvidence;
  counterSignatures?: SignatureFinding[];
}

/** A checked RFC 3161 token as the validation process takes it. */
export function timestampEvidence(type: TimestampType, timestamp: SignatureTimestamp): TimestampEvidence {
  return {
    type,
    genTime: timestamp.genTime,
    tsa: timestamp.tsa,
    intact: timestamp.intact,
    ...(timestamp.certificate && { tsaCertificateDer: timestamp.certificate.raw }),
    certificatesDer: timestamp.certificatesDer,
  };
}

/** The report's `timestamp` / `contentTimestamp`: when, and by whom. */
export function timeOf(timestamp: SignatureTimestamp | undefined): { genTime: string; tsa: string } | undefined {
  return timestamp && { genTime: timestamp.genTime.toISOString(), tsa: timestamp.tsa };
}
