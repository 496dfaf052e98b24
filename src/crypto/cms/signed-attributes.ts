import { attribute } from './attribute.js';
import { objectIdentifier, octetString, setOf, time } from './der.js';
import { ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNING_TIME } from './oids.js';

/*
 * SignedAttributes ::= SET SIZE (1..MAX) OF Attribute      -- RFC 5652 §5.3
 *
 * ContentType ::= OBJECT IDENTIFIER                        -- §11.1, attribute id-contentType
 * MessageDigest ::= OCTET STRING                           -- §11.2, attribute id-messageDigest
 * SigningTime  ::= Time                                    -- §11.3, attribute id-signingTime
 * Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 */

/**
 * The signature covers the DER encoding of this SET OF with its universal SET tag (RFC 5652 §5.4), so
 * the elements must be in DER order: OpenSSL and NSS hash the attributes in the order we store them, DSS
 * re-sorts them first, and only a sorted SET satisfies both.
 */
export function signedAttributes(attributes: Buffer[]): Buffer {
  return setOf(attributes);
}

export function contentTypeAttribute(contentType: string): Buffer {
  return attribute(ID_CONTENT_TYPE, objectIdentifier(contentType));
}

export function messageDigestAttribute(messageDigest: Buffer): Buffer {
  return attribute(ID_MESSAGE_DIGEST, octetString(messageDigest));
}

/** RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds. */
export function signingTimeAttribute(signingTime: Date): Buffer {
  return attribute(ID_SIGNING_TIME, time(signingTime));
}
