import { deflateSync, inflateSync } from 'node:zlib';
import { SignetError } from '../../../errors/signet-error.js';
import { PdfDict, PdfString, name, type PdfObject } from '../objects.js';
import { pngPredictor } from '../reader/filters.js';
import { imageXObject, MAX_STAMP_PIXELS, type StampImage } from './image-xobject.js';

/** Decoded images larger than this are not stamps. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);


/**
 * A PNG (ISO/IEC 15948) as a PDF image XObject. Opaque images of up to 8 bits per sample keep their
 * compressed data as it is: PNG's zlib stream with its row filters is exactly FlateDecode with
 * /Predictor 15 (§7.4.4.4), so nothing is decoded. Images with an alpha channel are composited onto
 * white and re-compressed: a soft mask (§11.6.5.3) would be transparency, which PDF/A-1 forbids, and a
 * stamp sits on white paper anyway. A tRNS chunk (simple transparency) is ignored: the image is opaque.
 * Interlaced PNGs are refused (rare for stamps; they would need full decoding).
 */
export function pngImage(png: Buffer): StampImage {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw badImage('it is not a PNG');
  let pos = 8;
  let header: { width: number; height: number; bitDepth: number; colorType: number; interlace: number } | undefined;
  let palette: Buffer | undefined;
  const data: Buffer[] = [];
  while (pos + 8 <= png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const body = png.subarray(pos + 8, pos + 8 + length);
    if (body.length !== length) throw badImage(`chunk ${type} is truncated`);
    pos += 12 + length; // length, type, data, CRC
    if (type === 'IHDR') {
      if (length < 13) throw badImage('IHDR is too short');
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), bitDepth: body[8], colorType: body[9], interlace: body[12] };
    } else if (type === 'PLTE') {
      palette = body;
    } else if (type === 'IDAT') {
      data.push(body);
    } else if (type === 'IEND') {
      break;
    }
  }
  if (!header || data.length === 0) throw badImage('it has no IHDR or no IDAT');
  const { width, height, bitDepth, colorType, interlace } = header;
  if (width === 0 || height === 0 || width * height > MAX_STAMP_PIXELS) throw badImage(`${width}×${height} pixels is not a stamp size`);
  if (interlace !== 0) throw badImage('interlaced PNGs are not supported');
  const colors = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  if (colors === undefined || ![1, 2, 4, 8, 16].includes(bitDepth)) throw badImage(`color type ${colorType} with ${bitDepth}-bit samples is not valid`);
  const compressed = Buffer.concat(data);

  if (colorType === 4 || colorType === 6 || bitDepth === 16) {
    // Decoded: alpha is composited onto white; 16-bit samples keep their high byte (PDF 1.4 and so
    // PDF/A-1 know only up to 8 bits per component, §8.9.5.1 Table 89).
    if (bitDepth !== 8 && bitDepth !== 16) throw badImage('alpha images must have 8 or 16-bit samples');
    const bytesPerSample = bitDepth / 8;
    const rowLength = width * colors * bytesPerSample;
    let raw: Buffer;
    try {
      raw = pngPredictor(inflateSync(compressed, { maxOutputLength: (rowLength + 1) * height }), rowLength, colors * bytesPerSample);
    } catch (error) {
      throw badImage(`its image data cannot be decompressed (${(error as Error).message})`, error);
    }
    const hasAlpha = colorType === 4 || colorType === 6;
    const colorChannels = hasAlpha ? colors - 1 : colors;
    const flat = Buffer.alloc(width * height * colorChannels);
    for (let pixel = 0; pixel < width * height; pixel++) {
      const base = pixel * colors * bytesPerSample;
      const alpha = hasAlpha ? raw[base + colorChannels * bytesPerSample] / 255 : 1;
      for (let c = 0; c < colorChannels; c++) {
        flat[pixel * colorChannels + c] = Math.round(raw[base + c * bytesPerSample] * alpha + 255 * (1 - alpha));
      }
    }
    const colorSpace = colorChannels === 1 ? name('DeviceGray') : name('DeviceRGB');
    return imageXObject({ width, height, colorSpace, bitsPerComponent: 8, filter: 'FlateDecode', data: deflateSync(flat) });
  }

  let colorSpace: PdfObject = colorType === 2 ? name('DeviceRGB') : name('DeviceGray');
  if (colorType === 3) {
    if (!palette || palette.length % 3 !== 0 || palette.length === 0) throw badImage('the palette is missing');
    // §8.6.6.3: [/Indexed base hival lookup]
    colorSpace = [name('Indexed'), name('DeviceRGB'), palette.length / 3 - 1, new PdfString(Buffer.from(palette), true)];
  }
  const parms = new PdfDict([['Predictor', 15], ['Colors', colors], ['BitsPerComponent', bitDepth], ['Columns', width]]);
  return imageXObject({ width, height, colorSpace, bitsPerComponent: bitDepth, filter: 'FlateDecode', data: compressed, decodeParms: parms });
}

function badImage(reason: string, cause?: unknown): SignetError {
  return new SignetError('invalid_request', `visible.imagePng cannot be used: ${reason}`, { field: 'visible.imagePng', cause });
}
