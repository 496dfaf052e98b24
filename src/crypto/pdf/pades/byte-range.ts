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

/** An incremental update laid out with its placeholders: the whole new file, /ByteRange already written. */
export interface LaidOutFile {
  output: Buffer;
  /** Offset of `<` of /Contents. */
  contentsStart: number;
  /** Offset just after `>` of /Contents. */
  contentsEnd: number;
  byteRange: [number, number, number, number];
  fieldName: string;
}

export interface ByteRangeResult {
  pdf: Buffer;
  fieldName: string;
  byteRange: [number, number, number, number];
  /** The DER written into /Contents (without the padding). */
  contents: Buffer;
}

/**
 * Puts the signature (or document time-stamp) dictionary `signatureRef` with its placeholders into the
 * update, builds it, and returns the original bytes followed by the update with /ByteRange filled in.
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
  const output = Buffer.allocUnsafe(appended.start + appended.bytes.length);
  reader.buffer.copy(output, 0);
  appended.bytes.copy(output, appended.start);

  const body = appended.bodyOffset(signatureRef.num);
  const contentsStart = body + layout.contentsOffset;
  const contentsEnd = contentsStart + layout.contentsLength;
  const byteRange: [number, number, number, number] = [0, contentsStart, contentsEnd, output.length - contentsEnd];
  writeByteRange(output, body + layout.byteRangeOffset, byteRange);
  return { output, contentsStart, contentsEnd, byteRange, fieldName };
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
    const { output, contentsStart, contentsEnd, byteRange, fieldName } = layOut(capacity);
    const digest = createHash('sha256').update(output.subarray(0, contentsStart)).update(output.subarray(contentsEnd)).digest();
    const contents = await produce(digest);
    if (contents.length <= capacity) {
      writeContents(output, contentsStart, contents);
      return { pdf: output, fieldName, byteRange, contents };
    }
    if (attempt > 0) throw new SignetError('internal_error', `The CMS (${contents.length} bytes) does not fit the reserved /Contents`);
    // Rare (a large chain or timestamp): lay the update out again with room for this CMS.
    capacity = contents.length + 1024;
  }
}
