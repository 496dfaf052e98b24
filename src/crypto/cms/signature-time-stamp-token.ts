import { attribute } from './attribute.js';

/*
 * SignatureTimeStampToken ::= TimeStampToken              -- RFC 3161 Appendix A, ETSI EN 319 122-1 §5.3
 *
 * id-aa-signatureTimeStampToken OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549)
 *     pkcs(1) pkcs-9(9) smime(16) id-aa(2) 14 }
 *
 * An unsigned attribute of the SignerInfo; the token's messageImprint is the hash of the SignerInfo's
 * signature value (the OCTET STRING's content, not its tag and length), which is what makes a B-T
 * signature prove it existed at genTime.
 */
export const ID_AA_SIGNATURE_TIME_STAMP_TOKEN = '1.2.840.113549.1.9.16.2.14';

export function signatureTimeStampTokenAttribute(timeStampToken: Buffer): Buffer {
  return attribute(ID_AA_SIGNATURE_TIME_STAMP_TOKEN, timeStampToken);
}
