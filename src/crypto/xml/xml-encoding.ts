import { SignetError } from '../../errors/signet-error.js';

/**
 * How a document's bytes map to characters (XML 1.0 §4.3.3 and Appendix F), kept so that text we insert
 * (the ds:Signature) is encoded the way the rest of the document is, and so that a character index in
 * the decoded text can be turned back into a byte offset in the original bytes.
 */
export type XmlByteEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'iso-8859-1' | 'windows-1252';

export interface DecodedXml {
  text: string;
  encoding: XmlByteEncoding;
  /** Bytes of the byte order mark before `text` starts, 0 when there is none. */
  bomLength: number;
}

/** Encoding labels we accept in `<?xml … encoding="…"?>` for an ASCII-compatible document. */
const asciiCompatibleLabels: ReadonlyMap<string, XmlByteEncoding> = new Map([
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
  // US-ASCII is a subset of UTF-8: decoding it as UTF-8 reads the same characters.
  ['us-ascii', 'utf-8'],
  ['ascii', 'utf-8'],
  ['iso-8859-1', 'iso-8859-1'],
  ['iso_8859-1', 'iso-8859-1'],
  ['latin1', 'iso-8859-1'],
  ['l1', 'iso-8859-1'],
  ['windows-1252', 'windows-1252'],
  ['cp1252', 'windows-1252'],
]);

const declaredEncoding = /^<\?xml[\x20\t\r\n][^>]*?encoding[\x20\t\r\n]*=[\x20\t\r\n]*["']([A-Za-z][A-Za-z0-9._-]*)["']/;

/**
 * Decodes the document strictly: bytes that are not valid in the detected encoding are an `invalid_xml`
 * error, never replacement characters (which would make the signed text differ from the document).
 */
export function decodeXml(bytes: Uint8Array): DecodedXml {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return decode(bytes, 'utf-8', 3);
  if (b0 === 0xfe && b1 === 0xff) return decode(bytes, 'utf-16be', 2);
  if (b0 === 0xff && b1 === 0xfe) return decode(bytes, 'utf-16le', 2);
  if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) return decode(bytes, 'utf-16be', 0);
  if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) return decode(bytes, 'utf-16le', 0);
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 256)).toString('latin1');
  const label = declaredEncoding.exec(head)?.[1];
  if (label === undefined) return decode(bytes, 'utf-8', 0);
  const encoding = asciiCompatibleLabels.get(label.toLowerCase());
  if (!encoding) {
    throw new SignetError(
      'invalid_xml',
      `The XML declaration names the encoding "${label}", which is not supported; send UTF-8, UTF-16 or ISO-8859-1`,
    );
  }
  return decode(bytes, encoding, 0);
}

function decode(bytes: Uint8Array, encoding: XmlByteEncoding, bomLength: number): DecodedXml {
  const body = bytes.subarray(bomLength);
  let text: string;
  if (encoding === 'iso-8859-1') {
    // The WHATWG decoder reads the label "iso-8859-1" as windows-1252; Buffer's latin1 is the real one.
    text = Buffer.from(body.buffer, body.byteOffset, body.length).toString('latin1');
  } else {
    try {
      text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body);
    } catch (error) {
      throw new SignetError('invalid_xml', `The document is not valid ${encoding.toUpperCase()}`, { cause: error });
    }
  }
  return { text, encoding, bomLength };
}

/** The byte offset in the original document of the character at `index` of the decoded text. */
export function byteOffsetOf(decoded: DecodedXml, index: number): number {
  switch (decoded.encoding) {
    case 'utf-8':
      return decoded.bomLength + Buffer.byteLength(decoded.text.slice(0, index), 'utf8');
    case 'utf-16le':
    case 'utf-16be':
      // UTF-16 code units are exactly the units of a JavaScript string.
      return decoded.bomLength + 2 * index;
    default:
      return index;
  }
}

/**
 * Encodes text we generate for insertion into a document of this encoding. The signature is ASCII only
 * (base64, URIs, ids, xsd:dateTime), which every supported single-byte encoding and UTF-8 share.
 */
export function encodeForDocument(text: string, encoding: XmlByteEncoding): Buffer {
  switch (encoding) {
    case 'utf-8':
      return Buffer.from(text, 'utf8');
    case 'utf-16le':
      return Buffer.from(text, 'utf16le');
    case 'utf-16be':
      return Buffer.from(text, 'utf16le').swap16();
    default:
      if (!/^[\x00-\x7f]*$/.test(text)) throw new TypeError('Only ASCII text can be inserted into a single-byte document');
      return Buffer.from(text, 'latin1');
  }
}
