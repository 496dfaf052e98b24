import { algorithmIdentifier } from '../cms/algorithm-identifier.js';
import { octetString, sequence, tags, type Tlv } from '../cms/der.js';
import { DerShapeError, childrenOf, contentOf, decodeObjectIdentifier, encodingOf, expectTag } from '../cms/der-reader.js';
import { imprintHashForOid, timestampHashes, type ImprintHash } from './oids.js';

/*
 * MessageImprint ::= SEQUENCE  {                      -- RFC 3161 §2.4.1
 *      hashAlgorithm                AlgorithmIdentifier,
 *      hashedMessage                OCTET STRING  }
 */

/**
 * hashAlgorithm with parameters absent, as RFC 5754 §2 says SHA-2 identifiers are generated; verifiers
 * (OpenSSL, BouncyCastle, DSS) accept absent and NULL alike, and a TSA echoes what it received anyway.
 */
const hashAlgorithmIdentifiers: Readonly<Record<ImprintHash, Buffer>> = {
  sha1: algorithmIdentifier(timestampHashes.sha1.oid),
  sha256: algorithmIdentifier(timestampHashes.sha256.oid),
  sha384: algorithmIdentifier(timestampHashes.sha384.oid),
  sha512: algorithmIdentifier(timestampHashes.sha512.oid),
};

export function messageImprint(hash: ImprintHash, hashedMessage: Buffer): Buffer {
  const expected = timestampHashes[hash]?.length;
  if (expected === undefined) throw new TypeError(`Unsupported imprint algorithm "${String(hash)}"`);
  if (hashedMessage.length !== expected) throw new TypeError(`A ${hash} digest is ${expected} bytes, got ${hashedMessage.length}`);
  return sequence(hashAlgorithmIdentifiers[hash], octetString(hashedMessage));
}

export interface DecodedMessageImprint {
  /** The algorithm OID as sent. */
  hashAlgorithm: string;
  /** Set when the algorithm is one we know (SHA-1, SHA-2); the digest length has then been checked. */
  hash?: ImprintHash;
  hashedMessage: Buffer;
  /** The MessageImprint exactly as received, to be echoed byte for byte (RFC 3161 §2.4.2). */
  encoded: Buffer;
}

/** Throws DerShapeError on a malformed structure; an unknown algorithm is reported through `hash` being unset. */
export function decodeMessageImprint(der: Buffer, element: Tlv): DecodedMessageImprint {
  expectTag(element, tags.sequence, 'MessageImprint');
  const [algorithm, hashed, extra] = childrenOf(der, element, 'MessageImprint');
  if (extra) throw new DerShapeError('MessageImprint has extra fields');
  expectTag(algorithm, tags.sequence, 'MessageImprint.hashAlgorithm');
  const [oid, parameters, more] = childrenOf(der, algorithm, 'AlgorithmIdentifier');
  const hashAlgorithm = decodeObjectIdentifier(der, expectTag(oid, tags.objectIdentifier, 'AlgorithmIdentifier.algorithm'));
  // RFC 5754 §2: parameters absent or NULL; anything else is not a SHA-2 identifier.
  const parametersOk = !more && (!parameters || (parameters.tag === tags.null && parameters.end === parameters.contentStart));
  const hashedMessage = contentOf(der, expectTag(hashed, tags.octetString, 'MessageImprint.hashedMessage'));
  const hash = parametersOk ? imprintHashForOid(hashAlgorithm) : undefined;
  if (hash && hashedMessage.length !== timestampHashes[hash].length) {
    throw new DerShapeError(`MessageImprint: a ${hash} digest is ${timestampHashes[hash].length} bytes, got ${hashedMessage.length}`);
  }
  return { hashAlgorithm, hash, hashedMessage, encoded: encodingOf(der, element) };
}
