import { createHash } from 'node:crypto';
import { SignetError } from '../../../errors/signet-error.js';
import type { PdfRef } from '../objects.js';
import type { PdfReader } from '../reader/pdf-reader.js';
import { RawObject, type IncrementalUpdate } from '../writer/incremental-update.js';
import { signatureDictionaryLayout, writeByteRange, writeContents, type SignatureDictionaryInput } from './signature-dictionary.js';

/*
 * Byte-range signing (ISO 32000-1 §12.8.1; ISO 32000-2 §12.8.1, §12.8.5): a signature or document
 * time-stamp dictionary whose /Contents is a fixed-size placeholder, /ByteRange covering the whole file
 * but that placeholder, the digest of those ranges handed to whoever makes the CMS (a signer, a TSA),
 * and the answer written into the placeholder. Shared by signatures (sign-pdf.ts) and document
 * time-stamps (document-timestamp.ts).
 */

/**
 * A signed file as its two pieces: the original bytes, untouched, then the appended update. Kept
 * apart rather than copied into one buffer — that copy was 3 % of a whole PAdES-B-B signature of a
 * 200 KB file — and written one after the other (`writev`), or joined by a caller that needs one buffer.
 */
export type PdfParts = readonly [original: Buffer, update: Buffer];

/** An incremental update laid out with its placeholders, /ByteRange already written. */
export interface LaidOutFile {
  parts: PdfParts;
  /** Offset of `<` of /Contents in the whole file (always inside the update). */
  contentsStart: number;
  /** Offset just after `>` of /Contents in the whole file. */
  contentsEnd: number;
  byteRange: [number, number, number, number];
  fieldName: string;
}

export interface ByteRangeResult {
  parts: PdfParts;
  fieldName: string;
  byteRange: [number, number, number, number];
  /** The DER written into /Contents (without the padding). */
  contents: Buffer;
}

/**
 * Puts the signature (or document time-stamp) dictionary `signatureRef` with its placeholders into the
 * update, builds it, and returns the original bytes and the update with /ByteRange filled in.
 */
export function layOutByteRangeUpdate(
  reader: PdfReader,
  update: IncrementalUpdate,
  signatureRef: PdfRef,
  dictionary: SignatureDictionaryInput,
  fieldName: string,
): LaidOutFile {
  const layout = signatureDictionaryLayout(dictionary);
  update.put(signatureRef, new RawObject(layout.body));
  const appended = update.build();
  const total = appended.start + appended.bytes.length;

  const body = appended.bodyOffset(signatureRef.num);
  const contentsStart = body + layout.contentsOffset;
  const contentsEnd = contentsStart + layout.contentsLength;
  const byteRange: [number, number, number, number] = [0, contentsStart, contentsEnd, total - contentsEnd];
  writeByteRange(appended.bytes, body - appended.start + layout.byteRangeOffset, byteRange);
  return { parts: [reader.buffer, appended.bytes], contentsStart, contentsEnd, byteRange, fieldName };
}

/**
 * Lays the file out with `capacity` bytes for /Contents, has `produce` make the DER for the SHA-256 of
 * the byte ranges, and writes it in. A DER that does not fit is not an error: the file is laid out again
 * with room for it (and `produce` asked again, as the digest changed).
 */
export async function fillByteRange(
  layOut: (capacity: number) => LaidOutFile,
  capacity: number,
  produce: (digest: Buffer) => Promise<Buffer>,
): Promise<ByteRangeResult> {
  for (let attempt = 0; ; attempt++) {
    const { parts, contentsStart, contentsEnd, byteRange, fieldName } = layOut(capacity);
    const [original, update] = parts;
    const start = original.length;
    const digest = createHash('sha256')
      .update(original)
      .update(update.subarray(0, contentsStart - start))
      .update(update.subarray(contentsEnd - start))
      .digest();
    const contents = await produce(digest);
    if (contents.length <= capacity) {
      writeContents(update, contentsStart - start, contents);
      return { parts, fieldName, byteRange, contents };
    }
    if (attempt > 0) throw new SignetError('internal_error', `The CMS (${contents.length} bytes) does not fit the reserved /Contents`);
    // Rare (a large chain or timestamp): lay the update out again with room for this CMS.
    capacity = contents.length + 1024;
  }
}
