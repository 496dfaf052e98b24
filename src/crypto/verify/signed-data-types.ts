import type * as asn1js from 'asn1js';

/** A CMS SignedData as verification reads it (signed-data.ts: BER; signed-data-der.ts: the DER fast path). */

export interface CmsAttribute {
  type: string;
  /** The values of the attribute's SET, as parsed (on first use in the DER path). */
  values: asn1js.AsnType[];
  /** Each value as encoded: for a value that is only passed on (a time-stamp token), without parsing it. */
  valuesEncoded: Buffer[];
  /** The whole Attribute, as encoded. */
  encoded: Buffer;
}

export interface CmsSignerInfo {
  /** sid as encoded: an IssuerAndSerialNumber SEQUENCE or a [0] subjectKeyIdentifier. */
  sid: Buffer;
  digestAlgorithm: string;
  /** The signedAttrs element exactly as encoded (tag [0] IMPLICIT); absent for a bare PKCS#1 signature. */
  signedAttributesEncoded?: Buffer;
  signedAttributes: CmsAttribute[];
  signatureAlgorithm: string;
  /** The signatureAlgorithm's parameters as encoded (RSASSA-PSS needs them). */
  signatureParameters?: Buffer;
  signature: Buffer;
  unsignedAttributes: CmsAttribute[];
  /** version … signature as encoded, without the SignerInfo's own header: what an archive time-stamp covers. */
  signedPartEncoded: Buffer;
}

export interface CmsSignedData {
  eContentType: string;
  /** The eContentType OBJECT IDENTIFIER as encoded. */
  eContentTypeEncoded: Buffer;
  /**
   * encapContentInfo and the certificates [0] and crls [1] fields, each whole as encoded (absent ones
   * empty): what a CAdES archive-time-stamp-v2 covers.
   */
  encoded: { encapContentInfo: Buffer; certificates: Buffer; crls: Buffer };
  /** The encapsulated content, when the signature is not detached. */
  eContent?: Buffer;
  /** Every certificate the CMS carries (other certificate formats are skipped), DER. */
  certificates: Buffer[];
  /** Each RevocationInfoChoice, as encoded. */
  crls: Buffer[];
  signerInfos: CmsSignerInfo[];
}
