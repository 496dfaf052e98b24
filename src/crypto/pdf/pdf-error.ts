import { SignetError } from '../../errors/signet-error.js';

/**
 * A document we cannot read as a PDF. The message names what is wrong and where (byte offsets), so the
 * client can tell a truncated upload from an unsupported file; `cause` keeps a lower-level error.
 */
export function invalidPdf(message: string, cause?: unknown): SignetError {
  return new SignetError('invalid_pdf', `Not a readable PDF: ${message}`, { cause });
}

/**
 * Runs work that reads a document. Anything unexpected while reading a hostile file (a RangeError from
 * a wild offset, …) is the document's fault, so it becomes invalid_pdf rather than an internal error.
 */
export function asDocumentError<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof SignetError) throw error;
    if (error instanceof RangeError) {
      throw invalidPdf(`the file's structure could not be read (${error.message})`, error);
    }
    throw error;
  }
}
