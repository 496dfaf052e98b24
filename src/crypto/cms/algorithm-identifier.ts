import { derNull, objectIdentifier, sequence } from './der.js';
import type { SignerHash } from '../keys/signer.js';
import { ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512, ID_SHA256, ID_SHA384, ID_SHA512, RSA_ENCRYPTION } from './oids.js';

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

/** The digest AlgorithmIdentifier of each hash a Signer accepts. */
export const DIGEST_ALGORITHMS: Readonly<Record<SignerHash, Buffer>> = {
  sha256: SHA256_ALGORITHM,
  sha384: algorithmIdentifier(ID_SHA384),
  sha512: algorithmIdentifier(ID_SHA512),
};

/** ecdsa-with-SHA256/384/512: ECDSA has no hash-neutral identifier (RFC 5753 §2.1.1). */
export const ECDSA_SIGNATURE_ALGORITHMS: Readonly<Record<SignerHash, Buffer>> = {
  sha256: ECDSA_WITH_SHA256_ALGORITHM,
  sha384: algorithmIdentifier(ECDSA_WITH_SHA384),
  sha512: algorithmIdentifier(ECDSA_WITH_SHA512),
};
