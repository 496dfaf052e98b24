import { SignetError } from '../../../errors/signet-error.js';
import { name } from '../objects.js';
import { imageXObject, MAX_STAMP_PIXELS, type StampImage } from './image-xobject.js';

/** What a PDF image XObject needs to know of a JPEG, read from its markers (ITU-T T.81 Annex B). */
export interface JpegInfo {
  width: number;
  height: number;
  /** 1 (grey), 3 (YCbCr or RGB) or 4 (CMYK or YCCK). */
  components: 1 | 3 | 4;
  /** An Adobe APP14 marker is present: its CMYK samples are stored inverted (Photoshop's convention). */
  adobe: boolean;
}

/**
 * A JPEG as a PDF image XObject: PDF's DCTDecode filter (§7.4.8) is JPEG itself, so the file's bytes
 * become the stream's data unchanged. /ColorSpace follows the frame's component count; Adobe CMYK
 * JPEGs (with an APP14 marker) store inverted samples, which /Decode [1 0 1 0 1 0 1 0] turns back
 * (what Acrobat, pdf.js and img2pdf do). Throws invalid_request naming `field` for data that is not a
 * JPEG a PDF reader can draw.
 */
export function jpegImage(jpeg: Buffer, field = 'visible.imageJpeg'): StampImage {
  const { width, height, components, adobe } = jpegInfo(jpeg, field);
  const colorSpace = components === 1 ? 'DeviceGray' : components === 3 ? 'DeviceRGB' : 'DeviceCMYK';
  return imageXObject({
    width,
    height,
    colorSpace: name(colorSpace),
    bitsPerComponent: 8,
    filter: 'DCTDecode',
    data: jpeg,
    ...(components === 4 && adobe && { decode: [1, 0, 1, 0, 1, 0, 1, 0] }),
  });
}

/**
 * Reads the markers of a JPEG up to its first scan (T.81 §B.1.1.2–B.2.2): the frame header (SOFn)
 * gives precision, size and components; APP14 (Adobe) is noted. Only what DCTDecode readers all
 * draw is accepted: baseline, extended sequential or progressive Huffman frames of 8-bit samples.
 */
export function jpegInfo(jpeg: Buffer, field = 'visible.imageJpeg'): JpegInfo {
  const bad = (reason: string) => new SignetError('invalid_request', `${field} cannot be used: ${reason}`, { field });
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw bad('it is not a JPEG (no SOI marker)');
  let pos = 2;
  let frame: Omit<JpegInfo, 'adobe'> | undefined;
  let adobe = false;
  for (;;) {
    if (pos >= jpeg.length) throw bad(frame ? 'it has no image data (no SOS marker)' : 'it has no frame header (no SOF marker)');
    if (jpeg[pos] !== 0xff) throw bad(`byte ${pos} should start a marker`);
    // §B.1.1.2: any number of 0xFF fill bytes may precede a marker.
    while (jpeg[pos] === 0xff && pos < jpeg.length) pos++;
    const marker = jpeg[pos++];
    if (marker === undefined) throw bad('it ends inside a marker');
    // Markers without a length: TEM, RSTn, SOI (again), EOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd8 || marker === 0xd9) throw bad(`it has ${marker === 0xd9 ? 'EOI' : 'a second SOI'} before any image data`);
    if (pos + 2 > jpeg.length) throw bad('it ends inside a marker segment');
    const length = jpeg.readUInt16BE(pos);
    const end = pos + length;
    if (length < 2 || end > jpeg.length) throw bad(`the segment of marker 0xFF${hex(marker)} at byte ${pos - 2} overruns the file`);
    const segment = jpeg.subarray(pos + 2, end);
    pos = end;
    if (isFrameMarker(marker)) {
      if (frame) throw bad('it has two frame headers');
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
        throw bad(`its frame type (SOF${marker - 0xc0}: lossless, hierarchical or arithmetic-coded) is not drawn by PDF readers; save it as a baseline JPEG`);
      }
      if (segment.length < 6) throw bad('its frame header is too short');
      const precision = segment[0];
      const height = segment.readUInt16BE(1);
      const width = segment.readUInt16BE(3);
      const components = segment[5];
      if (precision !== 8) throw bad(`it has ${precision}-bit samples; PDF's DCTDecode takes 8-bit JPEGs`);
      if (width === 0 || height === 0 || width * height > MAX_STAMP_PIXELS) throw bad(`${width}×${height} pixels is not a stamp size`);
      if (components !== 1 && components !== 3 && components !== 4) throw bad(`it has ${components} color components (expected 1, 3 or 4)`);
      if (segment.length < 6 + 3 * components) throw bad('its frame header is too short for its components');
      frame = { width, height, components };
    } else if (marker === 0xee && segment.length >= 5 && segment.toString('latin1', 0, 5) === 'Adobe') {
      adobe = true;
    } else if (marker === 0xda) {
      // Start of scan: the entropy-coded data follows; everything needed is known by now.
      if (!frame) throw bad('its scan comes before any frame header');
      return { ...frame, adobe };
    }
  }
}

/** T.81 Table B.1: SOF0–SOF15 are C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
function isFrameMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
