import { derNull, objectIdentifier, sequence } from './der.js';
import { ECDSA_WITH_SHA256, ID_SHA256, RSA_ENCRYPTION } from './oids.js';

/*
 * AlgorithmIdentifier ::= SEQUENCE {                  -- RFC 5280 §4.1.1.2
 *   algorithm    OBJECT IDENTIFIER,
 *   parameters   ANY DEFINED BY algorithm OPTIONAL }
 */
export function algorithmIdentifier(algorithm: string, parameters?: Buffer): Buffer {
  return parameters ? sequence(objectIdentifier(algorithm), parameters) : sequence(objectIdentifier(algorithm));
}

/** RFC 5754 §2: SHA-2 identifiers are generated with parameters absent (verifiers must accept NULL too). */
export const SHA256_ALGORITHM: Buffer = algorithmIdentifier(ID_SHA256);

/** RFC 3370 §3.2 / RFC 4055 §5: rsaEncryption carries a NULL parameter. */
export const RSA_ENCRYPTION_ALGORITHM: Buffer = algorithmIdentifier(RSA_ENCRYPTION, derNull);

/** RFC 5758 §3.2: the ecdsa-with-SHA2 identifiers have parameters absent. */
export const ECDSA_WITH_SHA256_ALGORITHM: Buffer = algorithmIdentifier(ECDSA_WITH_SHA256);
