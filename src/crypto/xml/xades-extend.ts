import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { endEntitiesValidationData, timeStampValidationData, type ValidationDataSource } from '../cms/cades-baseline-lt.js';
import { checkImprint } from '../cms/cades-baseline-t.js';
import { parseTimeStampToken } from '../tsp/parse-time-stamp-token.js';
import type { TimestampClient } from '../tsp/timestamp-client.js';
import { canonicalElement } from './xades-prepare.js';
import { xadesArchiveImprintOfDocument } from './xades-archive-imprint.js';
import { archiveTimeStampElement, signatureIds, signatureTimeStampElement, timeStampValidationDataElement, validationValuesElements } from './xades-template.js';
import { DS_NAMESPACE, XADES141_NAMESPACE, XADES_NAMESPACE } from './xml-constants.js';
import { byteOffsetOf, decodeXml, encodeForDocument } from './xml-encoding.js';
import { scanXml, type XmlElement, type XmlHandler } from './xml-scanner.js';

export interface ExtendXadesOptions {
  level: 'B-LT' | 'B-LTA';
  validationData: ValidationDataSource;
  timestampClient: TimestampClient;
  now?: Date;
}

/**
 * Raises the XAdES signature of a document — made by Signet or anyone — to B-LT or B-LTA without adding
 * a signature (API.md §3 "Extending existing signatures"; EN 319 132-1 §6.3): a SignatureTimeStamp over
 * the canonical ds:SignatureValue when it has none, then CertificateValues (what ds:KeyInfo lacks) and
 * RevocationValues for the signer's and the time-stamps' chains (earlier archive time-stamps' too),
 * appended to its UnsignedSignatureProperties (created when absent); for B-LTA then an ArchiveTimeStamp
 * over the references' data (as their own transforms give it), SignedInfo, SignatureValue, KeyInfo and
 * every unsigned signature property before it, and TimeStampValidationData for its TSA when missing —
 * on a B-LTA signature, a renewal. Nothing else of the document changes: the new
 * elements declare their own namespaces and go inside the signature's QualifyingProperties, which
 * neither the signed document reference nor the SignedProperties cover.
 *
 * Not yet: documents with several signatures (extending one could break another that covers it),
 * references the verifier does not follow, and other ds:Object elements in the signature: each is
 * `unsupported_level` with a message saying so. No ds:Signature: `not_signed`; XML-DSig without XAdES
 * QualifyingProperties: `invalid_request`.
 */
export async function extendXadesSignature(xml: Buffer, options: ExtendXadesOptions): Promise<Buffer> {
  const decoded = decodeXml(xml);
  const found = new SignatureFinder();
  scanXml(decoded.text, found);
  if (found.signatures.length === 0) throw new SignetError('not_signed', 'The XML document carries no ds:Signature to extend; sign it instead');
  if (found.signatures.length > 1) {
    throw new SignetError('unsupported_level', `The document carries ${found.signatures.length} signatures; extending one could break another that covers it, so documents with one signature only are extended for now`);
  }
  const signature = found.signatures[0]!;
  if (!signature.qualifyingEnd || !signature.signedPropertiesEnd) {
    throw new SignetError('invalid_request', 'The signature is XML-DSig without XAdES QualifyingProperties (ETSI EN 319 132-1): it has no place for validation data');
  }
  if (signature.certificates.length === 0) throw new SignetError('invalid_request', 'The signature carries no ds:X509Certificate in its ds:KeyInfo');

  const now = options.now ?? new Date();
  const ids = signatureIds(createHash('sha256').update(xml).digest('hex').slice(0, 20));
  const added: string[] = [];
  const tokens = [...signature.timestampTokens];
  if (tokens.length === 0) {
    // EN 319 132-1 §5.3: over the exclusive canonical form of ds:SignatureValue, as it stands in the document.
    const canonical = canonicalElement(decoded.text, (element) => element.start === signature.signatureValueStart);
    const imprint = createHash('sha256').update(canonical, 'utf8').digest();
    const token = await options.timestampClient.timestamp(imprint, 'sha256');
    checkImprint(token, imprint, options.timestampClient.name, 'the signature value');
    tokens.push(token);
    added.push(
      selfContained(signatureTimeStampElement(ids, token)),
    );
  }
  const endEntities = [signature.certificates[0]!];
  const pool = [...signature.certificates];
  // Renewal: the TSAs of earlier archive time-stamps are covered as well.
  for (const token of [...tokens, ...signature.archiveTokens]) {
    const info = parseTimeStampToken(token);
    if (!info.tsaCertificateDer) throw new SignetError('validation_data_unavailable', 'A signature time-stamp does not carry its TSA certificate');
    endEntities.push(info.tsaCertificateDer);
    pool.push(...info.certificatesDer);
  }
  const data = await endEntitiesValidationData(endEntities, pool, options.validationData, now);
  const values = { ...data, certificates: data.certificates.filter((der) => !signature.certificates.some((known) => known.equals(der))) };
  added.push(...validationValuesElements(ids, values).map(selfContained));

  const lt = insertUnsignedSignatureProperties(xml, added);
  if (options.level === 'B-LT') return lt;

  // B-LTA: an ArchiveTimeStamp over everything so far, then its TSA's data when the signature lacks it.
  const imprint = xadesArchiveImprintOfDocument(decodeXml(lt).text);
  const archiveToken = await options.timestampClient.timestamp(imprint, 'sha256');
  checkImprint(archiveToken, imprint, options.timestampClient.name, 'the archive time-stamp input');
  const archiveData = await timeStampValidationData(archiveToken, options.validationData, now);
  const present = (list: Buffer[]) => (der: Buffer) => list.some((known) => known.equals(der));
  const missing = {
    certificates: archiveData.certificates.filter((der) => !present([...signature.certificates, ...values.certificates])(der)),
    crls: archiveData.crls.filter((der) => !present(values.crls)(der)),
    ocsps: archiveData.ocsps.filter((der) => !present(values.ocsps)(der)),
  };
  const archived = [selfContained(archiveTimeStampElement(ids, archiveToken))];
  if (missing.certificates.length + missing.crls.length + missing.ocsps.length > 0) archived.push(selfContained(timeStampValidationDataElement(ids, missing)));
  return insertUnsignedSignatureProperties(lt, archived);
}

/**
 * Appends `elements` to the signature's UnsignedSignatureProperties (creating UnsignedProperties after
 * SignedProperties when there is none), by byte offset: every other byte of the document stays as it was.
 */
function insertUnsignedSignatureProperties(xml: Buffer, elements: string[]): Buffer {
  const decoded = decodeXml(xml);
  const found = new SignatureFinder();
  scanXml(decoded.text, found);
  const signature = found.signatures[0]!;
  let at: number;
  let insertion: string;
  if (signature.unsignedSignatureEnd !== undefined) {
    at = signature.unsignedSignatureEnd;
    insertion = elements.join('');
  } else if (signature.hasUnsignedProperties) {
    throw new SignetError('unsupported_level', 'The signature has UnsignedProperties without an UnsignedSignatureProperties element to add to; it cannot be extended yet');
  } else {
    at = decoded.text.indexOf('>', signature.signedPropertiesEnd!) + 1;
    insertion = `<xades:UnsignedProperties xmlns:xades="${XADES_NAMESPACE}"><xades:UnsignedSignatureProperties>${elements.join('')}</xades:UnsignedSignatureProperties></xades:UnsignedProperties>`;
  }
  const offset = byteOffsetOf(decoded, at);
  return Buffer.concat([xml.subarray(0, offset), encodeForDocument(insertion, decoded.encoding), xml.subarray(offset)]);
}

/** An element of ours with the ds and xades prefixes it uses declared on it: in another's document they may be bound otherwise. */
function selfContained(element: string): string {
  return element.replace(/^<([\w:]+) /, `<$1 xmlns:ds="${DS_NAMESPACE}" xmlns:xades="${XADES_NAMESPACE}" `);
}

interface FoundSignature {
  signatureValueStart?: number;
  certificates: Buffer[];
  timestampTokens: Buffer[];
  archiveTokens: Buffer[];
  qualifyingEnd?: number;
  signedPropertiesEnd?: number;
  hasUnsignedProperties?: boolean;
  /** Index of the '<' of the UnsignedSignatureProperties end tag. */
  unsignedSignatureEnd?: number;
}

/** One pass over the document: each ds:Signature and the places of its XAdES parts. */
class SignatureFinder implements XmlHandler {
  readonly signatures: FoundSignature[] = [];
  #current?: FoundSignature;
  #signature?: XmlElement;
  #text = '';
  #collecting?: 'certificate' | 'timestamp' | 'archive';
  #inTimeStamp?: 'timestamp' | 'archive';

  startElement(element: XmlElement): void {
    const isDs = element.namespaceUri === DS_NAMESPACE;
    const isXades = element.namespaceUri === XADES_NAMESPACE;
    if (isDs && element.localName === 'Signature') {
      // Nested signatures (a signature inside another's object) count as signatures too.
      this.#current = { certificates: [], timestampTokens: [], archiveTokens: [] };
      this.#signature = element;
      this.signatures.push(this.#current);
      return;
    }
    const current = this.#current;
    if (!current) return;
    if (isDs && element.localName === 'SignatureValue' && element.parent === this.#signature) current.signatureValueStart = element.start;
    if (isDs && element.localName === 'X509Certificate' && element.parent?.localName === 'X509Data' && element.parent.parent?.localName === 'KeyInfo') this.#startText('certificate');
    if (isXades && element.localName === 'SignatureTimeStamp') this.#inTimeStamp = 'timestamp';
    if (element.namespaceUri === XADES141_NAMESPACE && element.localName === 'ArchiveTimeStamp') this.#inTimeStamp = 'archive';
    if (isXades && element.localName === 'EncapsulatedTimeStamp' && this.#inTimeStamp) this.#startText(this.#inTimeStamp);
  }

  endElement(element: XmlElement, end: number, selfClosing: boolean): void {
    const current = this.#current;
    if (!current) return;
    if (element === this.#signature) {
      this.#current = undefined;
      this.#signature = undefined;
      return;
    }
    if (this.#collecting && (element.localName === 'X509Certificate' || element.localName === 'EncapsulatedTimeStamp')) {
      const bytes = Buffer.from(this.#text.replace(/\s+/g, ''), 'base64');
      if (this.#collecting === 'certificate') current.certificates.push(bytes);
      else if (this.#collecting === 'timestamp') current.timestampTokens.push(bytes);
      else current.archiveTokens.push(bytes);
      this.#collecting = undefined;
    }
    if (element.namespaceUri === XADES141_NAMESPACE && element.localName === 'ArchiveTimeStamp') this.#inTimeStamp = undefined;
    if (element.namespaceUri !== XADES_NAMESPACE) return;
    switch (element.localName) {
      case 'SignatureTimeStamp':
        this.#inTimeStamp = undefined;
        break;
      case 'SignedProperties':
        current.signedPropertiesEnd = end;
        break;
      case 'QualifyingProperties':
        current.qualifyingEnd = end;
        break;
      case 'UnsignedSignatureProperties':
        // An empty-element tag `<…/>` has no end tag to insert before: refused below, as UnsignedProperties without one.
        if (!selfClosing) current.unsignedSignatureEnd = end;
        break;
      case 'UnsignedProperties':
        current.hasUnsignedProperties = true;
        break;
    }
  }

  text(text: string): void {
    if (this.#collecting) this.#text += text;
  }

  comment(): void {}

  processingInstruction(): void {}

  #startText(kind: 'certificate' | 'timestamp' | 'archive'): void {
    this.#collecting = kind;
    this.#text = '';
  }
}
