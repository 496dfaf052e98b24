import { attribute } from './attribute.js';

/*
 * id-aa-ets-archiveTimestampV3 OBJECT IDENTIFIER ::= { itu-t(0) identified-organization(4)  -- ETSI EN 319 122-1 §5.5.3
 *     etsi(0) electronic-signature-standard(1733) attributes(2) 4 }
 *
 * ArchiveTimeStampToken ::= TimeStampToken
 *
 * An unsigned attribute of the archived SignerInfo with exactly one value. (The clause's prose names
 * id-aa-signatureTimeStampToken as its identifier, a slip: annex D, which is normative, and every
 * validator use the OID above.)
 *
 * The token's messageImprint is the hash (same algorithm as the index's hashIndAlgorithm) of, in order
 * and each "in their binary encoded form without any modification and including the tag, length and
 * value octets":
 *   1) SignedData.encapContentInfo.eContentType;
 *   2) the hash of the signed content — for a detached signature the content beside it, hashed as for
 *      the message-digest signed attribute (the bare digest octets, no tag or length);
 *   3) the SignerInfo's version, sid, digestAlgorithm, signedAttrs ([0] IMPLICIT, as stored),
 *      signatureAlgorithm and signature, without the SignerInfo's own tag and length;
 *   4) the ATSHashIndexV3 value that the token then carries in its ats-hash-index-v3 attribute.
 */
export const ID_AA_ETS_ARCHIVE_TIMESTAMP_V3 = '0.4.0.1733.2.4';

export interface ArchiveTimeStampV3ImprintParts {
  /** The eContentType OBJECT IDENTIFIER TLV of encapContentInfo. */
  eContentType: Buffer;
  /** The hash of the signed content (raw digest octets). */
  contentDigest: Buffer;
  /** version … signature of the SignerInfo, as encoded (SignerInfoParts.signedPart). */
  signerInfoFields: Buffer;
  /** The DER ATSHashIndexV3. */
  atsHashIndex: Buffer;
}

/** The octets the archive time-stamp's message imprint is the hash of (§5.5.3 items 1–4). */
export function archiveTimeStampV3ImprintInput(parts: ArchiveTimeStampV3ImprintParts): Buffer {
  return Buffer.concat([parts.eContentType, parts.contentDigest, parts.signerInfoFields, parts.atsHashIndex]);
}

export function archiveTimeStampV3Attribute(archiveTimeStampToken: Buffer): Buffer {
  return attribute(ID_AA_ETS_ARCHIVE_TIMESTAMP_V3, archiveTimeStampToken);
}
