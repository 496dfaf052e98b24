import type { X509Certificate } from 'node:crypto';
import { readIssuerAndSerial } from '../cms/tbs-certificate.js';
import { readCertificateList } from '../revocation/certificate-list.js';
import { crlDer } from '../revocation/crl-check.js';
import { ocspNamesCertificate, ocspResponseCertificates } from '../revocation/ocsp-response.js';
import { buildCertificatePath } from './certificate-path.js';
import type { RevocationValues } from './signature-evidence.js';

/**
 * Whether a PAdES signature carries its long-term validation data (ETSI EN 319 142-1 §5.4), as EU DSS
 * grades the samples: the document's DSS holds revocation data about the signer's certificate (an OCSP
 * response naming it by serial number and issuer, or a CRL of its issuer — found even when the issuer's
 * certificate itself is not in the document), and the signature time-stamp's TSA chain is at hand up to
 * a self-signed root (DSS rates a PDF with a DSS but a TSA chain missing a certificate B-T: "missing
 * certificates"). Certificates from the CMS, the time-stamp token, the DSS and inside OCSP responses
 * count. Checked against DSS's grading of five real files (1 × B-T and 2 × B-LT in PAdES-LT.pdf, B-T for
 * doc-firmado.pdf, B-LT for doc-firmado-LT.pdf, B-LTA for Signature-P-DE_SCI-4.pdf).
 */
export function carriesValidationData(
  signer: X509Certificate,
  certificatesDer: readonly Buffer[],
  dss: RevocationValues & { certificates: readonly Buffer[] },
  timestampAuthority?: X509Certificate,
): boolean {
  const signerIssuer = readIssuerAndSerial(signer.raw).issuer;
  const aboutSigner =
    dss.ocsps.some((ocsp) => ocspNamesCertificate(ocsp, signer.raw)) ||
    dss.crls.some((crl) => {
      try {
        return readCertificateList(crlDer(crl)).issuer.equals(signerIssuer);
      } catch {
        return false;
      }
    });
  if (!aboutSigner) return false;
  if (!timestampAuthority) return true;
  const pool = [...certificatesDer, ...dss.certificates];
  if (buildCertificatePath(timestampAuthority, pool, []).complete) return true;
  return buildCertificatePath(timestampAuthority, [...pool, ...dss.ocsps.flatMap(ocspResponseCertificates)], []).complete;
}
