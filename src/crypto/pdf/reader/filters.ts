import { constants, inflateSync } from 'node:zlib';
import { PdfDict, PdfName, type PdfObject, type PdfStream } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';

/**
 * Stream decoding, ISO 32000-1 §7.4, for the streams signing must read: cross-reference streams and
 * object streams. They are FlateDecode (§7.4.4) with or without a PNG/TIFF predictor (§7.4.4.4) or not
 * filtered at all in every file we know; other filters are refused with a message naming them.
 */

/** Decoded data larger than this is not a cross-reference or object stream we are willing to hold. */
export const MAX_DECODED_STREAM = 64 * 1024 * 1024;

export function decodeStream(stream: PdfStream, maxOutput = MAX_DECODED_STREAM): Buffer {
  const filters = asArray(stream.dict.get('Filter'));
  const parameters = asArray(stream.dict.get('DecodeParms') ?? stream.dict.get('DP'));
  let data = stream.rawData;
  filters.forEach((filter, index) => {
    if (!(filter instanceof PdfName)) throw invalidPdf('a stream /Filter is not a name');
    const parms = parameters[index];
    switch (filter.value) {
      case 'FlateDecode':
      case 'Fl':
        data = applyPredictor(inflate(data, maxOutput), parms instanceof PdfDict ? parms : undefined);
        break;
      default:
        throw invalidPdf(`stream filter /${filter.value} is not supported for cross-reference or object streams`);
    }
  });
  return data;
}

function asArray(value: PdfObject | undefined): PdfObject[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * zlib (RFC 1950) as §7.4.4 specifies; a stream cut short still yields what it has (SYNC_FLUSH), as
 * readers do, and the output is bounded so a "zip bomb" fails instead of filling memory.
 */
function inflate(data: Buffer, maxOutput: number): Buffer {
  try {
    return inflateSync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: maxOutput });
  } catch (error) {
    throw invalidPdf(`a FlateDecode stream cannot be decompressed (${(error as Error).message})`, error);
  }
}

/** §7.4.4.4 Table 8: /Predictor 1 (none), 2 (TIFF), 10–15 (PNG, a filter-type byte per row). */
function applyPredictor(data: Buffer, parms: PdfDict | undefined): Buffer {
  const predictor = numberParam(parms, 'Predictor', 1);
  if (predictor === 1) return data;
  const colors = numberParam(parms, 'Colors', 1);
  const bitsPerComponent = numberParam(parms, 'BitsPerComponent', 8);
  const columns = numberParam(parms, 'Columns', 1);
  if (colors < 1 || colors > 32 || ![1, 2, 4, 8, 16].includes(bitsPerComponent) || columns < 1 || columns > 1 << 20) {
    throw invalidPdf('stream predictor parameters are out of range');
  }
  const bytesPerPixel = Math.max(1, (colors * bitsPerComponent) >> 3);
  const rowLength = Math.ceil((colors * bitsPerComponent * columns) / 8);
  if (predictor === 2) return tiffPredictor(data, rowLength, bytesPerPixel, bitsPerComponent);
  if (predictor >= 10 && predictor <= 15) return pngPredictor(data, rowLength, bytesPerPixel);
  throw invalidPdf(`stream /Predictor ${predictor} is not defined`);
}

function numberParam(parms: PdfDict | undefined, key: string, fallback: number): number {
  const value = parms?.get(key);
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

/**
 * PNG filters (RFC 2083 §6): each row starts with its filter type; prediction is against the row above.
 * Also what PNG images themselves use (pades/png-image.ts).
 */
export function pngPredictor(data: Buffer, rowLength: number, bytesPerPixel: number): Buffer {
  const rows = Math.floor(data.length / (rowLength + 1));
  const out = Buffer.alloc(rows * rowLength);
  for (let row = 0; row < rows; row++) {
    const input = row * (rowLength + 1);
    const type = data[input];
    const current = row * rowLength;
    const previous = current - rowLength;
    for (let i = 0; i < rowLength; i++) {
      const raw = data[input + 1 + i];
      const left = i >= bytesPerPixel ? out[current + i - bytesPerPixel] : 0;
      const up = row > 0 ? out[previous + i] : 0;
      const upLeft = row > 0 && i >= bytesPerPixel ? out[previous + i - bytesPerPixel] : 0;
      let value: number;
      switch (type) {
        case 0: value = raw; break;
        case 1: value = raw + left; break;
        case 2: value = raw + up; break;
        case 3: value = raw + ((left + up) >> 1); break;
        case 4: value = raw + paeth(left, up, upLeft); break;
        default: throw invalidPdf(`PNG predictor row ${row} has unknown filter type ${type}`);
      }
      out[current + i] = value & 0xff;
    }
  }
  return out;
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

/** TIFF predictor 2 for 8-bit components (the only depth used outside images). */
function tiffPredictor(data: Buffer, rowLength: number, bytesPerPixel: number, bitsPerComponent: number): Buffer {
  if (bitsPerComponent !== 8) throw invalidPdf('TIFF predictor is only supported with 8 bits per component');
  const out = Buffer.from(data);
  for (let rowStart = 0; rowStart + rowLength <= out.length; rowStart += rowLength) {
    for (let i = bytesPerPixel; i < rowLength; i++) out[rowStart + i] = (out[rowStart + i] + out[rowStart + i - bytesPerPixel]) & 0xff;
  }
  return out;
}
