import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CRL_REASONS, isSupportedSignatureAlgorithm, RevocationDataError, signedBy } from './signed-by.js';
import { parsedCertificate } from '../cms/parsed-certificates.js';
import { readTlv, tags } from '../cms/der.js';
import { contentOf } from '../cms/der-reader.js';
import { readIssuerAndSerial, readSubject } from '../cms/tbs-certificate.js';
import { readCertificateList, type CertificateListParts } from './certificate-list.js';

/**
 * A certificate's status from its issuer's CRL (RFC 5280 §5, §6.3), checked: the CRL is the issuer's
 * (issuer name), signed by the issuer's key (a CA with cRLSign when it says its key usage), current
 * (thisUpdate not in the future, nextUpdate not passed, within a clock skew), and the certificate's
 * serial number is or is not among its entries, with the entry's revocationDate and reasonCode.
 * Pure: the CRL's bytes (DER or PEM, as distribution points serve either) in, a verdict out.
 * Indirect CRLs and delta CRLs are not followed: such a CRL is refused rather than misread.
 */
export interface CrlVerdict {
  status: 'good' | 'revoked';
  revokedAt?: Date;
  reason?: string;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export type CrlFailure = 'malformed' | 'wrong_issuer' | 'bad_signature' | 'not_yet_valid' | 'expired' | 'unsupported';

export class CrlError extends RevocationDataError<CrlFailure> {}

const ID_CE_REASON_CODE = '2.5.29.21';
const ID_CE_CERTIFICATE_ISSUER = '2.5.29.29';
const ID_CE_DELTA_CRL_INDICATOR = '2.5.29.27';
const ID_CE_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';

/** The DER of a CRL given as DER or as PEM ("-----BEGIN X509 CRL-----"). */
export function crlDer(bytes: Buffer): Buffer {
  const text = bytes.subarray(0, 64).toString('latin1');
  if (!text.includes('-----BEGIN')) return bytes;
  const match = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(bytes.toString('latin1'));
  if (!match) throw new CrlError('malformed', 'A PEM file without an X509 CRL block');
  return Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
}

export function checkCertificateAgainstCrl(
  crlBytes: Buffer,
  /** checkCurrency false: a CRL read from a signature, whose recency the validator judges. */
  options: { certificateDer: Buffer; issuerDer: Buffer; now?: Date; maxClockSkewMs?: number; checkCurrency?: boolean },
): CrlVerdict {
  const now = options.now ?? new Date();
  const skew = options.maxClockSkewMs ?? 5 * 60_000;
  let crl: CertificateListParts;
  try {
    crl = readCertificateList(crlDer(crlBytes));
  } catch (error) {
    if (error instanceof CrlError) throw error;
    throw new CrlError('malformed', `Not a DER CRL: ${(error as Error).message}`);
  }
  const certificate = readIssuerAndSerial(options.certificateDer);
  for (const extension of crl.extensions) {
    if (extension.oid === ID_CE_DELTA_CRL_INDICATOR) throw new CrlError('unsupported', 'A delta CRL: Signet reads complete CRLs only');
    if (extension.oid === ID_CE_ISSUING_DISTRIBUTION_POINT && extension.critical) {
      // indirectCRL, onlySomeReasons, … change what the list covers: not guessed at.
      const point = new pkijs.IssuingDistributionPoint({ schema: asn1js.fromBER(extension.value).result });
      if (point.indirectCRL || point.onlySomeReasons !== undefined) throw new CrlError('unsupported', 'An indirect or partial CRL (issuingDistributionPoint)');
    }
  }
  // The issuer's name as its own certificate encodes it, byte for byte: the CRL's issuer must be that name.
  if (!crl.issuer.equals(readSubject(options.issuerDer))) throw new CrlError('wrong_issuer', 'The CRL is not issued by the certificate’s issuer');
  const algorithm = crl.signatureAlgorithm;
  if (!isSupportedSignatureAlgorithm(algorithm)) throw new CrlError('bad_signature', `The CRL is signed with an unsupported algorithm (${algorithm})`);
  const key = parsedCertificate(options.issuerDer).publicKey;
  if (!signedBy(algorithm, crl.tbs, crl.signature, key)) throw new CrlError('bad_signature', 'The CRL signature does not verify with the issuer’s key');
  const { thisUpdate, nextUpdate } = crl;
  const current = options.checkCurrency !== false;
  if (current && thisUpdate.getTime() > now.getTime() + skew) throw new CrlError('not_yet_valid', `The CRL's thisUpdate (${thisUpdate.toISOString()}) is in the future`);
  if (current && nextUpdate && nextUpdate.getTime() < now.getTime() - skew) throw new CrlError('expired', `The CRL expired at its nextUpdate (${nextUpdate.toISOString()})`);

  const entry = crl.entryFor(contentOf(certificate.serialNumber, readTlv(certificate.serialNumber, 0)));
  if (entry) {
    let reason: string | undefined;
    for (const extension of entry.extensions) {
      if (extension.oid === ID_CE_CERTIFICATE_ISSUER) throw new CrlError('unsupported', 'An indirect CRL entry (certificateIssuer)');
      if (extension.oid === ID_CE_REASON_CODE && extension.value[0] === tags.enumerated) {
        const code = extension.value[extension.value.length - 1]!;
        reason = CRL_REASONS[code] ?? `reason ${code}`;
      }
    }
    // removeFromCRL only appears in delta CRLs (refused above); certificateHold is revoked for now.
    return { status: 'revoked', revokedAt: entry.revocationDate, ...(reason && { reason }), thisUpdate, ...(nextUpdate && { nextUpdate }) };
  }
  return { status: 'good', thisUpdate, ...(nextUpdate && { nextUpdate }) };
}

