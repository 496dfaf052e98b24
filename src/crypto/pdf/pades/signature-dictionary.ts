import { PdfDict, name, pdfDate, textString } from '../objects.js';
import { serializeObject } from '../writer/serialize.js';

/*
 * The signature dictionary (ISO 32000-1 §12.8.1 Table 252) of a PAdES signature (ETSI EN 319 142-1
 * §5.3, §6.3): /Filter /Adobe.PPKLite, /SubFilter /ETSI.CAdES.detached, /M the signing time, /ByteRange
 * and /Contents laid out as fixed-width placeholders, so they can be filled in place once the file's
 * final bytes (and so the digest) are known. With `documentTimestamp` the same layout makes the
 * document time-stamp dictionary of ISO 32000-2 §12.8.5 (/Type /DocTimeStamp, /SubFilter /ETSI.RFC3161).
 */

export interface SignatureDictionaryInput {
  /** /M; required for a signature, optional for a document time-stamp (its time is the token's). */
  signingTime?: Date;
  /**
   * ISO 32000-2 §12.8.5 Table 255: a document time-stamp dictionary (/Type /DocTimeStamp, /SubFilter
   * /ETSI.RFC3161, /Contents an RFC 3161 TimeStampToken) instead of a signature dictionary.
   */
  documentTimestamp?: boolean;
  reason?: string;
  location?: string;
  contactInfo?: string;
  /** Signer's name (/Name); verifiers take the name from the certificate, so it is optional. */
  signerName?: string;
  /** Bytes reserved for the DER CMS; /Contents holds twice as many hex digits. */
  contentsCapacity: number;
}

export interface SignatureDictionaryLayout {
  /** The object body, `<< … >>`, with placeholders. */
  body: Buffer;
  /** Offset in `body` of the ByteRange placeholder's first byte (inside the brackets). */
  byteRangeOffset: number;
  byteRangeLength: number;
  /** Offset in `body` of `<`, which starts /Contents; the hex string runs up to and including its `>`. */
  contentsOffset: number;
  /** Length of the hex string including `<` and `>`. */
  contentsLength: number;
}

/** Room for four offsets of up to 10 digits each (files up to 9.3 GB) plus separators. */
const BYTE_RANGE_WIDTH = 4 * 10 + 3;

export function signatureDictionaryLayout(input: SignatureDictionaryInput): SignatureDictionaryLayout {
  const dict = new PdfDict([
    ['Type', name(input.documentTimestamp ? 'DocTimeStamp' : 'Sig')],
    ['Filter', name('Adobe.PPKLite')],
    ['SubFilter', name(input.documentTimestamp ? 'ETSI.RFC3161' : 'ETSI.CAdES.detached')],
  ]);
  if (input.signingTime !== undefined) dict.set('M', pdfDate(input.signingTime));
  if (input.signerName !== undefined) dict.set('Name', textString(input.signerName));
  if (input.reason !== undefined) dict.set('Reason', textString(input.reason));
  if (input.location !== undefined) dict.set('Location', textString(input.location));
  if (input.contactInfo !== undefined) dict.set('ContactInfo', textString(input.contactInfo));
  const head = serializeObject(dict).slice(0, -2); // without the closing ">>"
  const byteRangePrefix = `${head}\n/ByteRange [`;
  const contentsPrefix = `${byteRangePrefix}${' '.repeat(BYTE_RANGE_WIDTH)}]\n/Contents `;
  const contentsLength = 2 * input.contentsCapacity + 2;
  const body = Buffer.allocUnsafe(contentsPrefix.length + contentsLength + 2);
  body.write(contentsPrefix, 0, 'latin1');
  body[contentsPrefix.length] = 0x3c; // '<'
  body.fill(0x30, contentsPrefix.length + 1, contentsPrefix.length + contentsLength - 1); // '0'
  body[contentsPrefix.length + contentsLength - 1] = 0x3e; // '>'
  body.write('>>', contentsPrefix.length + contentsLength, 'latin1');
  return {
    body,
    byteRangeOffset: byteRangePrefix.length,
    byteRangeLength: BYTE_RANGE_WIDTH,
    contentsOffset: contentsPrefix.length,
    contentsLength,
  };
}

/**
 * §12.8.1: /ByteRange [0 a b c] — from the file's start to the `<` of /Contents, and from after its `>`
 * to the end of the file — written into the placeholder, padded with spaces.
 */
export function writeByteRange(file: Buffer, placeholderOffset: number, byteRange: readonly number[]): void {
  const text = byteRange.join(' ');
  if (text.length > BYTE_RANGE_WIDTH) throw new RangeError('The file is too large for the /ByteRange placeholder');
  file.write(text.padEnd(BYTE_RANGE_WIDTH, ' '), placeholderOffset, 'latin1');
}

/** Writes the DER CMS as hex after the `<` at `contentsOffset`; the remaining zeros are padding (§12.8.1). */
export function writeContents(file: Buffer, contentsOffset: number, cms: Buffer): void {
  file.write(cms.toString('hex'), contentsOffset + 1, 'latin1');
}
