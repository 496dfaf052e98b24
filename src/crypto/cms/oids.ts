/**
 * Object identifiers used by the CMS / CAdES builder, named as their RFCs name them.
 */

/** RFC 5652 §4: id-data OBJECT IDENTIFIER ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs7(7) 1 } */
export const ID_DATA = '1.2.840.113549.1.7.1';
/** RFC 5652 §5.1: id-signedData ::= { … pkcs7(7) 2 } */
export const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/** RFC 5652 §11.1: id-contentType ::= { … pkcs(1) pkcs9(9) 3 } */
export const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
/** RFC 5652 §11.2: id-messageDigest ::= { … pkcs9(9) 4 } */
export const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/** RFC 5652 §11.3: id-signingTime ::= { … pkcs9(9) 5 } */
export const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';
/** RFC 5035 §3: id-aa-signingCertificateV2 ::= { … pkcs9(9) smime(16) id-aa(2) 47 } */
export const ID_AA_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';

/** RFC 5754 §2.2: id-sha256 ::= { joint-iso-itu-t(2) country(16) us(840) organization(1) gov(101) csor(3) nistalgorithm(4) hashalgs(2) 1 } */
export const ID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const ID_SHA384 = '2.16.840.1.101.3.4.2.2';
export const ID_SHA512 = '2.16.840.1.101.3.4.2.3';

/** RFC 8017 Appendix C: rsaEncryption ::= { pkcs-1 1 } */
export const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
/** RFC 5758 §3.2: ecdsa-with-SHA256 ::= { iso(1) member-body(2) us(840) ansi-X9-62(10045) signatures(4) ecdsa-with-SHA2(3) 2 } */
export const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
export const ECDSA_WITH_SHA512 = '1.2.840.10045.4.3.4';
