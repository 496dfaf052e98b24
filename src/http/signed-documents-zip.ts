import type { Readable } from 'node:stream';
import yazl from 'yazl';
import type { OperationDocument } from '../core/signatures/operation-document.js';

/**
 * A ZIP of signed documents, streamed: each entry is read from storage only when the archive
 * reaches it. Signed files are stored, not compressed (they are compressed already or small).
 * Names clash-free and without path separators; the surface decides how names are built.
 */
export function signedDocumentsZip(
  documents: readonly OperationDocument[],
  open: (document: OperationDocument) => Readable,
  nameOf: (document: OperationDocument) => string,
): Readable {
  const zip = new yazl.ZipFile();
  const used = new Set<string>();
  for (const document of documents) {
    const safe = nameOf(document).replace(/[\\/]/g, '_').replace(/^\.+/, '_');
    const name = used.has(safe) ? `${document.position + 1}-${safe}` : safe;
    used.add(name);
    zip.addReadStream(open(document), name, { compress: false });
  }
  zip.end();
  return zip.outputStream as unknown as Readable;
}
