import { PdfStream } from '../objects.js';
import { decodeStream } from '../reader/filters.js';
import type { PdfReader } from '../reader/pdf-reader.js';

/** Metadata streams larger than this are not read just to find the PDF/A identification. */
const MAX_METADATA = 4 * 1024 * 1024;

/**
 * The PDF/A part a document claims (ISO 19005: XMP `pdfaid:part` in the catalog's /Metadata stream,
 * ISO 32000-1 §14.3.2), or undefined. A signature must not make such a document non-conformant, e.g. by
 * drawing text in a font that is not embedded (ISO 19005-1 §6.3.4, -2/-3 §6.2.11.4).
 */
export function pdfaPart(reader: PdfReader): number | undefined {
  const metadata = reader.resolve(reader.catalog().get('Metadata'));
  if (!(metadata instanceof PdfStream) || metadata.dataEnd - metadata.dataStart > MAX_METADATA) return undefined;
  let xmp: string;
  try {
    xmp = decodeStream(metadata, MAX_METADATA).toString('utf8');
  } catch {
    return undefined; // unreadable metadata makes no conformance claim we could keep
  }
  const match = /pdfaid:part\s*(?:=\s*["'](\d)["']|>\s*(\d)\s*<)/.exec(xmp);
  return match ? Number(match[1] ?? match[2]) : undefined;
}
