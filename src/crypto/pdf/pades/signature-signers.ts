import { ID_AA_SIGNATURE_TIME_STAMP_TOKEN } from '../../cms/signature-time-stamp-token.js';
import { readTlv } from '../../cms/der.js';
import { readIssuerAndSerial } from '../../cms/tbs-certificate.js';
import { parseTimeStampToken } from '../../tsp/parse-time-stamp-token.js';
import { CmsFormatError, originalBytes, readCmsSignedData } from '../../verify/signed-data.js';
import { SignetError } from '../../../errors/signet-error.js';

/** What B-LT needs of a PDF signature made by anyone: whose certificates to cover, and what else the CMS carries. */
export interface SignatureEndEntities {
  /** Each signer's certificate and each signature time-stamp's TSA certificate, DER. */
  endEntities: Buffer[];
  /** Every certificate the CMS and its tokens carry, to complete chains from. */
  pool: Buffer[];
  /** Whether every signer has a signature time-stamp (B-T in the CMS itself). */
  timeStamped: boolean;
}

/**
 * Reads a PDF signature's CMS as other products write it (BER, indefinite lengths: NSS, for one) with
 * the verification reader, and names the certificates its B-LT data must cover. A signer whose
 * certificate is not in the CMS, or is named by key identifier (rare in PDFs), is `invalid_request`,
 * naming the field.
 */
export function signatureEndEntities(cms: Buffer, fieldName: string): SignatureEndEntities {
  let signedData;
  try {
    signedData = readCmsSignedData(cms);
  } catch (error) {
    if (!(error instanceof CmsFormatError)) throw error;
    throw new SignetError('invalid_request', `The signature "${fieldName}" cannot be extended: ${error.message}`, { cause: error });
  }
  const endEntities: Buffer[] = [];
  const pool = [...signedData.certificates];
  let timeStamped = signedData.signerInfos.length > 0;
  for (const signer of signedData.signerInfos) {
    const certificate = signedData.certificates.find((der) => {
      const { issuer, serialNumber } = readIssuerAndSerial(der);
      // sid IssuerAndSerialNumber: a SEQUENCE whose content is issuer Name then serial INTEGER.
      if (signer.sid[0] !== 0x30) return false;
      const sid = readTlv(signer.sid, 0);
      return signer.sid.subarray(sid.contentStart, sid.end).equals(Buffer.concat([issuer, serialNumber]));
    });
    if (!certificate) throw new SignetError('invalid_request', `The signature "${fieldName}" cannot be extended: its signer certificate is not in the CMS`);
    endEntities.push(certificate);
    const tokens = signer.unsignedAttributes.filter((attribute) => attribute.type === ID_AA_SIGNATURE_TIME_STAMP_TOKEN).flatMap((attribute) => attribute.values.map(originalBytes));
    if (tokens.length === 0) timeStamped = false;
    for (const token of tokens) {
      const info = parseTimeStampToken(token);
      if (!info.tsaCertificateDer) throw new SignetError('validation_data_unavailable', `The signature time-stamp of "${fieldName}" does not carry its TSA certificate`);
      endEntities.push(info.tsaCertificateDer);
      pool.push(...info.certificatesDer);
    }
  }
  return { endEntities, pool, timeStamped };
}
