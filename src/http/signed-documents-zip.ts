import type { Readable } from 'node:stream';
import yazl from 'yazl';
import type { DocumentRow } from '../store/document-repository.js';

/**
 * A ZIP of signed documents, streamed: each entry is read from storage only when the archive
 * reaches it. Signed files are stored, not compressed (they are compressed already or small).
 * Names clash-free and without path separators; the surface decides how names are built.
 */
export function signedDocumentsZip(
  documents: readonly DocumentRow[],
  open: (document: DocumentRow) => Readable,
  nameOf: (document: DocumentRow) => string,
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
