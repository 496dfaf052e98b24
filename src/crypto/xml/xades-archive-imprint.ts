import { createHash } from 'node:crypto';
import { canonicalElement } from './xades-prepare.js';
import { DS_NAMESPACE, XADES_NAMESPACE } from './xml-constants.js';
import type { XmlElement } from './xml-scanner.js';

/** The unsigned signature properties an archive time-stamp covers, in the order Signet writes them. */
const COVERED_UNSIGNED = ['SignatureTimeStamp', 'CertificateValues', 'RevocationValues'] as const;

/**
 * The message imprint of an XAdES ArchiveTimeStamp (ETSI EN 319 132-1 §5.5.2.2, exclusive c14n as its
 * ds:CanonicalizationMethod says), for a signature Signet wrote: SHA-256 over, one after another,
 *
 *   1. the data each ds:Reference digested, in SignedInfo order: the canonical document (as the
 *      enveloped transform leaves it), then the canonical xades:SignedProperties;
 *   2. ds:SignedInfo, 3. ds:SignatureValue, 4. ds:KeyInfo, canonicalized;
 *   5. each unsigned signature property before the time-stamp, canonicalized, in order of appearance
 *      (SignatureTimeStamp, CertificateValues, RevocationValues).
 *
 * `signatureText` is the whole ds:Signature as it will be written, without the archive time-stamp.
 */
export function xadesArchiveImprint(canonicalDocument: Uint8Array, signatureText: string): Buffer {
  const hash = createHash('sha256').update(canonicalDocument);
  const element = (namespaceUri: string, localName: string) => (candidate: XmlElement) => candidate.namespaceUri === namespaceUri && candidate.localName === localName;
  hash.update(canonicalElement(signatureText, element(XADES_NAMESPACE, 'SignedProperties')), 'utf8');
  for (const name of ['SignedInfo', 'SignatureValue', 'KeyInfo']) hash.update(canonicalElement(signatureText, element(DS_NAMESPACE, name)), 'utf8');
  for (const name of COVERED_UNSIGNED) {
    if (signatureText.includes(`<xades:${name}`)) hash.update(canonicalElement(signatureText, element(XADES_NAMESPACE, name)), 'utf8');
  }
  return hash.digest();
}
