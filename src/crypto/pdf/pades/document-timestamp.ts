import type { TimestampClient } from '../../tsp/timestamp-client.js';
import { asDocumentError } from '../pdf-error.js';
import { assertNoDuplicateObjects } from '../reader/duplicate-objects.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { IncrementalUpdate } from '../writer/incremental-update.js';
import { signatureAppearance } from './appearance.js';
import { fillByteRange, layOutByteRangeUpdate, type ByteRangeResult } from './byte-range.js';
import { prepareSignatureField } from './signature-field.js';

/*
 * A document time-stamp (ISO 32000-2 §12.8.5; ETSI EN 319 142-1 §5.4.3, the archive time-stamp of
 * PAdES-B-LTA): a new, invisible signature field whose /V is a dictionary with /Type /DocTimeStamp,
 * /SubFilter /ETSI.RFC3161 and /Contents an RFC 3161 TimeStampToken whose messageImprint is the SHA-256
 * of the /ByteRange — everything in the file but that token.
 */

export interface DocumentTimestampOptions {
  timestampClient: TimestampClient;
  /** Name of the new field; default "DocumentTimestamp<n>". */
  fieldName?: string;
  /** Bytes reserved for the token; a larger token makes the file be laid out again. */
  contentsCapacity?: number;
}

/** A token from the built-in TSA with its certificate and CA is about 3 KB; D-TRUST's with its chain 6.7 KB. */
const DEFAULT_CAPACITY = 8 * 1024;

/** Appends a document time-stamp by one incremental update (ISO 32000-1 §7.5.6); `contents` is the token. */
export async function addDocumentTimestamp(pdf: Buffer, options: DocumentTimestampOptions): Promise<ByteRangeResult> {
  const reader = asDocumentError(() => {
    const opened = PdfReader.open(pdf);
    assertNoDuplicateObjects(pdf);
    return opened;
  });
  const layOut = (capacity: number) =>
    asDocumentError(() => {
      const update = new IncrementalUpdate(reader);
      const signatureRef = update.allocate();
      const field = prepareSignatureField(reader, update, {
        signatureRef,
        newField: true,
        namePrefix: 'DocumentTimestamp',
        fieldName: options.fieldName,
        // Never drawn: the new field has no placement, so its widget is invisible (/Rect [0 0 0 0]).
        appearance: (width, height) => signatureAppearance(width, height, {}),
      });
      return layOutByteRangeUpdate(reader, update, signatureRef, { documentTimestamp: true, contentsCapacity: capacity }, field.name);
    });
  return fillByteRange(layOut, options.contentsCapacity ?? DEFAULT_CAPACITY, (digest) => options.timestampClient.timestamp(digest, 'sha256'));
}
