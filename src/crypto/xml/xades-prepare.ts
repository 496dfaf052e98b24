import { createHash, randomBytes } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { DigestSink, ExclusiveCanonicalizer, StringSink, type CanonicalSink } from './exclusive-c14n.js';
import { SignatureLocationMatcher, parseSignatureLocation } from './signature-location.js';
import {
  buildSignatureText,
  signatureIds,
  type SignatureIds,
  type SignatureText,
  type XadesCanonicalization,
  type XadesSignerProfile,
  type XadesTransform,
} from './xades-template.js';
import { DS_NAMESPACE, XADES_NAMESPACE } from './xml-constants.js';
import { byteOffsetOf, decodeXml, encodeForDocument, type XmlByteEncoding } from './xml-encoding.js';
import { scanXml, type DocumentPart, type XmlElement, type XmlHandler } from './xml-scanner.js';

/**
 * Everything of an enveloped XAdES signature that needs the document: read it (refusing DTDs), find where
 * the signature goes, digest the canonical form of the document, build the signature text and digest the
 * canonical SignedInfo. The result is what the Signer signs; splicing the SignatureValue in is cheap and
 * happens where the Signer lives (xades-sign.ts). Runs in a worker thread (xades-pool.ts), or inline.
 *
 * The document digest is computed over the document as received: the enveloped-signature transform (and
 * the XPath transforms that remove ds:Signature) take our signature out again, and inserting it touches
 * no other node — it goes in as a new last child, between the parent's content and its end tag.
 */

export interface XadesPrepareRequest {
  document: Uint8Array;
  profile: XadesSignerProfile;
  /** Milliseconds since the epoch; a number so the request crosses threads as plain data. */
  signingTime: number;
  signatureLocation?: string;
  transform: XadesTransform;
  canonicalization: XadesCanonicalization;
  mimeType: string;
  /** B-LTA: also return the canonical document, the first input of the archive time-stamp's imprint. */
  keepCanonicalDocument?: boolean;
}

export interface XadesPrepared {
  ids: SignatureIds;
  text: SignatureText;
  /** SHA-256 of the exclusive canonical form of ds:SignedInfo: what the Signer signs. */
  signedInfoDigest: Uint8Array;
  /** The canonical SignedInfo itself, so the signature can be checked against the certificate. */
  canonicalSignedInfo: string;
  encoding: XmlByteEncoding;
  /** Byte offset in the document where the signature goes, and how many bytes it replaces there. */
  insertAt: number;
  deleteLength: number;
  /** Bytes to put before the signature and after it (only for an empty-element parent: `>` and `</name>`). */
  before: Uint8Array;
  after: Uint8Array;
  /** The canonical document (UTF-8) the document reference digests, when asked for. */
  canonicalDocument?: Uint8Array;
}

export function prepareXadesSignature(request: XadesPrepareRequest): XadesPrepared {
  const decoded = decodeXml(request.document);
  const matcher = request.signatureLocation ? new SignatureLocationMatcher(parseSignatureLocation(request.signatureLocation)) : null;
  const digestSink = new DigestSink();
  const kept = request.keepCanonicalDocument ? new StringSink() : undefined;
  const canonicalizer = new ExclusiveCanonicalizer(kept ? teeSink(digestSink, kept) : digestSink, {
    withComments: request.canonicalization === 'EXCLUSIVE_WITH_COMMENTS',
    exclude: request.transform === 'ENVELOPED' ? undefined : isDsSignature,
  });
  const root = new DocumentElementTracker();
  scanXml(decoded.text, matcher ? new TeeHandler(canonicalizer, matcher) : new TeeHandler(canonicalizer, root));
  const documentDigest = digestSink.digest().toString('base64');

  const parent = matcher ?? root;
  if (!parent.selected) throw new SignetError('invalid_xml', matcher!.describeMiss());
  const parentElement = parent.selected;

  const ids = signatureIds(randomBytes(10).toString('hex'));
  const textInput = {
    ids,
    profile: request.profile,
    transform: request.transform,
    canonicalization: request.canonicalization,
    signingTime: new Date(request.signingTime),
    mimeType: request.mimeType,
    documentDigest,
    signedPropertiesDigest: '',
  };
  // The SignedProperties digest goes into SignedInfo; SignedProperties does not depend on SignedInfo.
  const draft = buildSignatureText(textInput);
  textInput.signedPropertiesDigest = createHash('sha256')
    .update(canonicalSubtree(draft, isSignedProperties), 'utf8')
    .digest('base64');
  const text = buildSignatureText(textInput);
  const canonicalSignedInfo = canonicalSubtree(text, isSignedInfo);

  const encoding = decoded.encoding;
  let insertAt: number;
  let deleteLength = 0;
  let before: Uint8Array = new Uint8Array(0);
  let after: Uint8Array = new Uint8Array(0);
  if (parent.selfClosing) {
    // `<Parent …/>` becomes `<Parent …>signature</Parent>`; the name is copied from the start tag's bytes.
    insertAt = byteOffsetOf(decoded, parent.end);
    deleteLength = byteOffsetOf(decoded, parent.end + 2) - insertAt;
    const nameStart = byteOffsetOf(decoded, parentElement.start + 1);
    const nameEnd = byteOffsetOf(decoded, parentElement.start + 1 + parentElement.qname.length);
    before = encodeForDocument('>', encoding);
    after = Buffer.concat([
      encodeForDocument('</', encoding),
      request.document.subarray(nameStart, nameEnd),
      encodeForDocument('>', encoding),
    ]);
  } else {
    insertAt = byteOffsetOf(decoded, parent.end);
  }

  return {
    ids,
    text,
    signedInfoDigest: createHash('sha256').update(canonicalSignedInfo, 'utf8').digest(),
    canonicalSignedInfo,
    encoding,
    insertAt,
    deleteLength,
    before,
    after,
    ...(kept && { canonicalDocument: Buffer.from(kept.text, 'utf8') }),
  };
}

function teeSink(...sinks: CanonicalSink[]): CanonicalSink {
  return { write: (text) => sinks.forEach((sink) => sink.write(text)) };
}

function isDsSignature(element: XmlElement): boolean {
  return element.localName === 'Signature' && element.namespaceUri === DS_NAMESPACE;
}

function isSignedProperties(element: XmlElement): boolean {
  return element.localName === 'SignedProperties' && element.namespaceUri === XADES_NAMESPACE;
}

function isSignedInfo(element: XmlElement): boolean {
  return element.localName === 'SignedInfo' && element.namespaceUri === DS_NAMESPACE;
}

/** Exclusive canonical form of one element of our own signature text (read back with the same reader). */
function canonicalSubtree(text: SignatureText, apex: (element: XmlElement) => boolean): string {
  return canonicalElement(text.head + text.middle + text.tail, apex);
}

/** Exclusive canonical form of the first element `apex` accepts in a well-formed XML text we wrote. */
export function canonicalElement(xml: string, apex: (element: XmlElement) => boolean): string {
  const sink = new StringSink();
  const canonicalizer = new ExclusiveCanonicalizer(sink, { withComments: false, apex });
  scanXml(xml, canonicalizer);
  if (!canonicalizer.found) throw new Error('The signature template lacks an element it references');
  return sink.text;
}

/** Without a signatureLocation the signature goes into the document element. */
class DocumentElementTracker {
  selected: XmlElement | null = null;
  end = -1;
  selfClosing = false;

  startElement(element: XmlElement): void {
    if (element.depth === 1) this.selected = element;
  }

  endElement(element: XmlElement, end: number, selfClosing: boolean): void {
    if (element.depth === 1) {
      this.end = end;
      this.selfClosing = selfClosing;
    }
  }
}

interface ElementObserver {
  startElement(element: XmlElement): void;
  endElement(element: XmlElement, end: number, selfClosing: boolean): void;
}

class TeeHandler implements XmlHandler {
  constructor(
    private readonly main: XmlHandler,
    private readonly observer: ElementObserver,
  ) {}

  startElement(element: XmlElement): void {
    this.main.startElement(element);
    this.observer.startElement(element);
  }

  endElement(element: XmlElement, end: number, selfClosing: boolean): void {
    this.main.endElement(element, end, selfClosing);
    this.observer.endElement(element, end, selfClosing);
  }

  text(text: string): void {
    this.main.text(text);
  }

  comment(text: string, part: DocumentPart): void {
    this.main.comment(text, part);
  }

  processingInstruction(target: string, data: string, part: DocumentPart): void {
    this.main.processingInstruction(target, data, part);
  }
}
