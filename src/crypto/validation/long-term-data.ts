import type { X509Certificate } from 'node:crypto';
import { ocspResponseCertificates } from '../revocation/ocsp-response.js';
import { buildCertificatePath } from './certificate-path.js';
import type { RevocationValues } from './signature-evidence.js';

/**
 * Whether a PAdES signature carries its long-term validation data (ETSI EN 319 142-1 §5.4), as close to
 * EU DSS's reading as the samples pin it: the document's DSS holds revocation data and the signer's
 * certificate, and the signature time-stamp's TSA chain is at hand up to a self-signed root (DSS rates
 * a PDF with a DSS but a TSA chain missing a certificate B-T: "missing certificates"). Certificates
 * inside OCSP responses count. Not yet DSS's full rule: two plugtest files it rates B-LT/B-LTA are
 * B-T here (PAdES-LT.pdf's second signature, Signature-P-DE_SCI-4.pdf), see issue 13's note.
 */
export function carriesValidationData(
  signer: X509Certificate,
  certificatesDer: readonly Buffer[],
  dss: RevocationValues & { certificates: readonly Buffer[] },
  timestampAuthority?: X509Certificate,
): boolean {
  if (dss.ocsps.length + dss.crls.length === 0) return false;
  if (!dss.certificates.some((der) => der.equals(signer.raw))) return false;
  if (!timestampAuthority) return true;
  const pool = [...certificatesDer, ...dss.certificates, ...dss.ocsps.flatMap(ocspResponseCertificates)];
  return buildCertificatePath(timestampAuthority, pool, []).complete;
}
