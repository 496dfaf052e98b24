import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { writeReferencedData } from './validation/references.js';
import { canonicalElement } from './xades-prepare.js';
import { DS_NAMESPACE, XADES_NAMESPACE } from './xml-constants.js';
import { scanXml, type XmlElement, type XmlHandler } from './xml-scanner.js';

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

/**
 * The same imprint for the one signature of any document (made by anyone, extended to B-LTA): each
 * ds:Reference's data as its own transforms give it (validation/xml-signatures.ts follows them), then
 * ds:SignedInfo, ds:SignatureValue, ds:KeyInfo and every UnsignedSignatureProperties child, in order,
 * each in exclusive canonical form. Other ds:Object elements (§5.5.2.2 step 6) are not covered: a
 * signature carrying any is refused (`unsupported_level`) rather than archived wrongly.
 */
export function xadesArchiveImprintOfDocument(text: string): Buffer {
  const hash = createHash('sha256');
  const problem = writeReferencedData(text, { write: (piece) => hash.update(piece, 'utf8') });
  if (problem) throw new SignetError('unsupported_level', `The signature cannot be archived (B-LTA): ${problem}`);
  const parts = new ArchivedParts();
  scanXml(text, parts);
  if (parts.otherObjects > 0) throw new SignetError('unsupported_level', 'The signature carries ds:Object elements besides its QualifyingProperties; archiving them is not available yet');
  for (const start of [parts.signedInfo, parts.signatureValue, parts.keyInfo, ...parts.unsignedSignatureProperties]) {
    if (start === undefined) continue;
    hash.update(canonicalElement(text, (element) => element.start === start), 'utf8');
  }
  return hash.digest();
}

/** Where the parts an archive time-stamp covers start, in the one ds:Signature of a document. */
class ArchivedParts implements XmlHandler {
  signedInfo?: number;
  signatureValue?: number;
  keyInfo?: number;
  readonly unsignedSignatureProperties: number[] = [];
  otherObjects = 0;
  #signature?: XmlElement;
  readonly #objects: XmlElement[] = [];
  readonly #withQualifying = new Set<XmlElement>();

  startElement(element: XmlElement): void {
    if (!this.#signature) {
      if (element.namespaceUri === DS_NAMESPACE && element.localName === 'Signature') this.#signature = element;
      return;
    }
    const parent = element.parent;
    if (parent === this.#signature && element.namespaceUri === DS_NAMESPACE) {
      if (element.localName === 'SignedInfo') this.signedInfo = element.start;
      if (element.localName === 'SignatureValue') this.signatureValue = element.start;
      if (element.localName === 'KeyInfo') this.keyInfo = element.start;
      if (element.localName === 'Object') this.#objects.push(element);
    }
    if (parent && this.#objects.includes(parent) && element.namespaceUri === XADES_NAMESPACE && element.localName === 'QualifyingProperties') this.#withQualifying.add(parent);
    if (parent?.namespaceUri === XADES_NAMESPACE && parent.localName === 'UnsignedSignatureProperties') this.unsignedSignatureProperties.push(element.start);
  }

  endElement(element: XmlElement): void {
    if (element !== this.#signature) return;
    this.otherObjects = this.#objects.filter((object) => !this.#withQualifying.has(object)).length;
    this.#signature = undefined;
  }

  text(): void {}
  comment(): void {}
  processingInstruction(): void {}
}
