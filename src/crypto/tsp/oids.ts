/**
 * Object identifiers of the time-stamp protocol (RFC 3161) and of Signet's own TSA policy.
 */

/** RFC 3161 §2.4.2: id-ct-TSTInfo ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs-9(9) smime(16) ct(1) 4 } */
export const ID_CT_TST_INFO = '1.2.840.113549.1.9.16.1.4';

/** RFC 3279 §2.2.1: id-sha1 ::= { iso(1) identified-organization(3) oiw(14) secsig(3) algorithms(2) 26 } */
export const ID_SHA1 = '1.3.14.3.2.26';
/** RFC 5754 §2.2: id-sha256 ::= { … nistalgorithm(4) hashalgs(2) 1 } */
export const ID_SHA256 = '2.16.840.1.101.3.4.2.1';
/** RFC 5754 §2.3: id-sha384 ::= { … hashalgs(2) 2 } */
export const ID_SHA384 = '2.16.840.1.101.3.4.2.2';
/** RFC 5754 §2.4: id-sha512 ::= { … hashalgs(2) 3 } */
export const ID_SHA512 = '2.16.840.1.101.3.4.2.3';

/** RFC 5280 §4.2.1.12: id-kp-timeStamping; RFC 3161 §2.3 wants it as the TSA certificate's only, critical, EKU. */
export const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/**
 * Signet's private arc: 2.25 is the ITU-T X.667 arc where any UUID, written as one decimal integer, is an
 * object identifier nobody else can hold — unique without registering a private enterprise number.
 * UUID 94c8860a-f23c-4662-b353-b1ad1efde7bb, generated once for Signet. Sub-arcs: .1 policies.
 */
export const SIGNET_ARC = '2.25.197766921458011269494248700647990749115';

/**
 * TSAPolicyId of the built-in TSA (RFC 3161 §2.4.2 `policy`): genTime from the host clock (NTP-synchronised
 * in production), ±1 s accuracy, tokens over SHA-256/384/512 imprints, no audit trail beyond the
 * service's own records. Change the last arc if those promises change.
 */
export const SIGNET_TSA_POLICY = `${SIGNET_ARC}.1.1`;

/** The imprint algorithms Signet itself asks for (TimestampClient). */
export type TimestampHash = 'sha256' | 'sha384' | 'sha512';
/** The imprint algorithms the built-in TSA can accept from other requesters; everything else is badAlg. */
export type ImprintHash = TimestampHash | 'sha1';

export const timestampHashes: Readonly<Record<ImprintHash, { oid: string; length: number }>> = {
  sha1: { oid: ID_SHA1, length: 20 },
  sha256: { oid: ID_SHA256, length: 32 },
  sha384: { oid: ID_SHA384, length: 48 },
  sha512: { oid: ID_SHA512, length: 64 },
};

export function imprintHashForOid(oid: string): ImprintHash | undefined {
  if (oid === ID_SHA256) return 'sha256';
  if (oid === ID_SHA384) return 'sha384';
  if (oid === ID_SHA512) return 'sha512';
  if (oid === ID_SHA1) return 'sha1';
  return undefined;
}
