import { contentInfo } from './content-info.js';
import { implicitConstructed, sequence, setOf, tags } from './der.js';
import { DerShapeError, childrenOf, contentOf, decodeObjectIdentifier, encodingOf, expectTag, readWhole } from './der-reader.js';
import { ID_SIGNED_DATA } from './oids.js';
import { revocationInfoChoices } from './revocation-info-choices.js';
import { unsignedAttributes } from './unsigned-attributes.js';

/*
 * ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT ANY }        -- RFC 5652 §3
 *
 * SignedData ::= SEQUENCE {                                                 -- RFC 5652 §5.1
 *   version CMSVersion,
 *   digestAlgorithms DigestAlgorithmIdentifiers,
 *   encapContentInfo EncapsulatedContentInfo,
 *   certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *   signerInfos SignerInfos }
 *
 * SignerInfo ::= SEQUENCE {                                                 -- RFC 5652 §5.3
 *   version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL,
 *   signatureAlgorithm, signature SignatureValue,
 *   unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
 */

/**
 * A DER SignedData split into the parts a CAdES level upgrade touches (certificates, CRLs, unsigned
 * attributes) and the parts it must leave byte for byte (everything that is signed or identifies the
 * signer). Only DER with definite lengths is read: it is meant for signatures we made (cades-detached.ts).
 */
export interface SignedDataParts {
  /** version, digestAlgorithms and encapContentInfo, exactly as encoded. */
  head: Buffer;
  /** Each CertificateChoices element, exactly as encoded. */
  certificates: Buffer[];
  /** Each RevocationInfoChoice element, exactly as encoded. */
  crls: Buffer[];
  signerInfos: SignerInfoParts[];
}

export interface SignerInfoParts {
  /** version … signature, exactly as encoded: the part a verifier checks. */
  signedPart: Buffer;
  /** The sid field (IssuerAndSerialNumber or [0] subjectKeyIdentifier), as encoded. */
  sid: Buffer;
  /** The content octets of the signature OCTET STRING. */
  signatureValue: Buffer;
  /** Each unsigned Attribute, as encoded. */
  unsignedAttributes: Buffer[];
}

export function readSignedData(cmsDer: Buffer): SignedDataParts {
  const info = readWhole(cmsDer, tags.sequence, 'ContentInfo');
  const [contentType, wrapper] = childrenOf(cmsDer, info, 'ContentInfo');
  if (decodeObjectIdentifier(cmsDer, expectTag(contentType, tags.objectIdentifier, 'ContentInfo.contentType')) !== ID_SIGNED_DATA) {
    throw new DerShapeError('ContentInfo does not hold SignedData');
  }
  const [signedData] = childrenOf(cmsDer, expectTag(wrapper, tags.contextConstructed(0), 'ContentInfo.content'), 'ContentInfo.content');
  const fields = childrenOf(cmsDer, expectTag(signedData, tags.sequence, 'SignedData'), 'SignedData');
  if (fields.length < 4) throw new DerShapeError('SignedData is missing fields');
  const parts: SignedDataParts = {
    head: cmsDer.subarray(fields[0].start, fields[2].end),
    certificates: [],
    crls: [],
    signerInfos: [],
  };
  let index = 3;
  if (fields[index].tag === tags.contextConstructed(0)) {
    parts.certificates = childrenOf(cmsDer, fields[index++], 'certificates').map((element) => encodingOf(cmsDer, element));
  }
  if (fields[index].tag === tags.contextConstructed(1)) {
    parts.crls = childrenOf(cmsDer, fields[index++], 'crls').map((element) => encodingOf(cmsDer, element));
  }
  const signerInfos = expectTag(fields[index], tags.set, 'SignedData.signerInfos');
  if (index !== fields.length - 1) throw new DerShapeError('SignedData has fields after signerInfos');
  parts.signerInfos = childrenOf(cmsDer, signerInfos, 'SignerInfos').map((element) => readSignerInfo(cmsDer, element));
  return parts;
}

function readSignerInfo(der: Buffer, element: ReturnType<typeof readWhole>): SignerInfoParts {
  const fields = childrenOf(der, expectTag(element, tags.sequence, 'SignerInfo'), 'SignerInfo');
  const last = fields[fields.length - 1];
  const hasUnsigned = last?.tag === tags.contextConstructed(1);
  const signature = expectTag(fields[fields.length - (hasUnsigned ? 2 : 1)], tags.octetString, 'SignerInfo.signature');
  if (fields.length < (hasUnsigned ? 6 : 5)) throw new DerShapeError('SignerInfo is missing fields');
  return {
    signedPart: der.subarray(fields[0].start, signature.end),
    sid: encodingOf(der, fields[1]),
    signatureValue: contentOf(der, signature),
    unsignedAttributes: hasUnsigned ? childrenOf(der, last, 'unsignedAttrs').map((attribute) => encodingOf(der, attribute)) : [],
  };
}

/**
 * Re-assembles a ContentInfo from its parts: the head and each signedPart are copied unchanged, the sets
 * we may have added to are re-encoded in DER order, and the enclosing lengths follow.
 */
export function writeSignedData(parts: SignedDataParts): Buffer {
  return contentInfo(
    ID_SIGNED_DATA,
    sequence(
      parts.head,
      ...(parts.certificates.length ? [implicitConstructed(0, setOf(parts.certificates))] : []),
      ...(parts.crls.length ? [revocationInfoChoices(parts.crls)] : []),
      setOf(
        parts.signerInfos.map((signer) =>
          sequence(signer.signedPart, ...(signer.unsignedAttributes.length ? [unsignedAttributes(signer.unsignedAttributes)] : [])),
        ),
      ),
    ),
  );
}

/** Adds `additions` that are not already there (compared byte for byte), keeping the existing ones first. */
export function withoutDuplicates(existing: Buffer[], additions: Buffer[]): Buffer[] {
  const result = [...existing];
  for (const candidate of additions) if (!result.some((present) => present.equals(candidate))) result.push(candidate);
  return result;
}
