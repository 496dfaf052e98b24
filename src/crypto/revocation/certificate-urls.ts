import * as pkijs from 'pkijs';

/**
 * Where a certificate says its revocation status and its issuer can be found (RFC 5280):
 *   AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription          -- §4.2.2.1, id-pe-authorityInfoAccess
 *   AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
 *     id-ad-ocsp (1.3.6.1.5.5.7.48.1), id-ad-caIssuers (1.3.6.1.5.5.7.48.2)
 *   CRLDistributionPoints ::= SEQUENCE OF DistributionPoint               -- §4.2.1.13
 *   DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, reasons [1] …, cRLIssuer [2] … }
 * Only http(s) URIs are kept: ldap:// and file: locations are not fetched (the outbound policy speaks HTTP).
 */
export interface CertificateUrls {
  ocsp: string[];
  caIssuers: string[];
  crl: string[];
}

const ID_PE_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
const ID_CE_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
const ID_AD_CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
/** GeneralName's uniformResourceIdentifier [6]. */
const URI = 6;

export function certificateUrls(certificateDer: Buffer): CertificateUrls {
  const certificate = pkijs.Certificate.fromBER(new Uint8Array(certificateDer));
  const urls: CertificateUrls = { ocsp: [], caIssuers: [], crl: [] };
  for (const extension of certificate.extensions ?? []) {
    if (extension.extnID === ID_PE_AUTHORITY_INFO_ACCESS) {
      const access = extension.parsedValue as pkijs.InfoAccess | undefined;
      for (const description of access?.accessDescriptions ?? []) {
        const url = httpUri(description.accessLocation);
        if (!url) continue;
        if (description.accessMethod === ID_AD_OCSP) urls.ocsp.push(url);
        if (description.accessMethod === ID_AD_CA_ISSUERS) urls.caIssuers.push(url);
      }
    }
    if (extension.extnID === ID_CE_CRL_DISTRIBUTION_POINTS) {
      const points = extension.parsedValue as pkijs.CRLDistributionPoints | undefined;
      for (const point of points?.distributionPoints ?? []) {
        // A fullName (a list of GeneralNames); a name relative to the issuer names no URL.
        const names = Array.isArray(point.distributionPoint) ? point.distributionPoint : [];
        for (const name of names) {
          const url = httpUri(name);
          if (url) urls.crl.push(url);
        }
      }
    }
  }
  return urls;
}

function httpUri(name: pkijs.GeneralName): string | undefined {
  if (name.type !== URI || typeof name.value !== 'string') return undefined;
  return /^https?:\/\//i.test(name.value) ? name.value : undefined;
}
