import { SignetError } from '../errors/signet-error.js';

/**
 * Limits for a signature operation's multipart body. busboy's default of 1,000 parts would refuse a
 * batch of --max-documents (2,500 by default) long before our own check; one file beyond the
 * maximum is let through so the answer can say "too many documents" rather than cut the stream.
 */
export function signatureMultipartLimits(maxDocuments: number, maxBodySize: number) {
  const files = maxDocuments + 1;
  const fields = 20;
  return { fileSize: maxBodySize, files, fields, parts: files + fields, fieldSize: 10 * 1024 * 1024 };
}

/** A JSON part sent as a file is read whole, so it gets the same cap as a field (10 MB). */
export async function readJsonFilePart(file: AsyncIterable<Buffer>, name: string): Promise<string> {
  const max = 10 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of file) {
    size += chunk.length;
    if (size > max) throw new SignetError('payload_too_large', `The "${name}" part is larger than ${max} bytes`, { field: name });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
