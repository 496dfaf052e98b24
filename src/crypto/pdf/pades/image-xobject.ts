import { SignetError } from '../../../errors/signet-error.js';
import { PdfDict, PdfStream, name, type PdfObject } from '../objects.js';

/** Decoded stamp images larger than this are not stamps (16 Mpx, whatever the format). */
export const MAX_STAMP_PIXELS = 16 * 1024 * 1024;

/** A stamp image as a PDF image XObject, with its size in pixels. */
export interface StampImage {
  width: number;
  height: number;
  /** An image XObject (ISO 32000-1 §8.9.5) ready to be written as an indirect object. */
  xobject: PdfStream;
}

/** The image XObject dictionary (§8.9.5.1) around already encoded `data`; formats differ in the filter and its parameters. */
export function imageXObject(image: {
  width: number;
  height: number;
  colorSpace: PdfObject;
  bitsPerComponent: number;
  filter: 'FlateDecode' | 'DCTDecode';
  data: Buffer;
  decodeParms?: PdfDict;
  decode?: number[];
}): StampImage {
  const dict = new PdfDict([
    ['Type', name('XObject')],
    ['Subtype', name('Image')],
    ['Width', image.width],
    ['Height', image.height],
    ['ColorSpace', image.colorSpace],
    ['BitsPerComponent', image.bitsPerComponent],
    ['Filter', name(image.filter)],
  ]);
  if (image.decodeParms) dict.set('DecodeParms', image.decodeParms);
  if (image.decode) dict.set('Decode', image.decode);
  return { width: image.width, height: image.height, xobject: new PdfStream(dict, image.data, 0, image.data.length) };
}

/** Image bytes sent as base64 (whitespace allowed); anything else is invalid_request naming `field`. */
export function decodeImageBase64(value: string | Buffer, field: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  const base64 = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 === 1) {
    throw new SignetError('invalid_request', `${field} is not valid base64`, { field });
  }
  return Buffer.from(base64, 'base64');
}
