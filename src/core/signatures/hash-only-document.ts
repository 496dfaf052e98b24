import { SignetError } from '../../errors/signet-error.js';
import { signerHashLengths, type SignerHash } from '../../crypto/keys/signer.js';
import { uuid7 } from '../../util/uuid7.js';
import type { StagedDocument } from './stage-document.js';

/**
 * Signing a hash only (API.md §3): the client keeps the content and sends its digest; Signet answers a
 * detached CAdES signature over it. Nothing is stored for such a document but its digest.
 */

export const digestAlgorithmNames = ['SHA-256', 'SHA-384', 'SHA-512'] as const;
export type DigestAlgorithmName = (typeof digestAlgorithmNames)[number];

/** As the client sends it: the value base64. */
export interface DocumentDigest {
  algorithm: DigestAlgorithmName;
  value: string;
}

const hashOf: Record<DigestAlgorithmName, SignerHash> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/** The digest checked: a known algorithm, a value of exactly its length. As kept in a document's options. */
export function readDocumentDigest(digest: DocumentDigest, field: string): { hash: SignerHash; hex: string } {
  const hash = hashOf[digest.algorithm];
  if (!hash) throw new SignetError('invalid_request', `${field}.algorithm must be one of ${digestAlgorithmNames.join(', ')}`, { field: `${field}.algorithm` });
  const compact = typeof digest.value === 'string' ? digest.value.replace(/\s+/g, '') : '';
  const bytes = Buffer.from(compact, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || bytes.toString('base64') !== compact.padEnd(Math.ceil(compact.length / 4) * 4, '=')) {
    throw new SignetError('invalid_request', `${field}.value is not base64`, { field: `${field}.value` });
  }
  if (bytes.length !== signerHashLengths[hash]) {
    throw new SignetError('invalid_request', `${field}.value is ${bytes.length} bytes; a ${digest.algorithm} digest is ${signerHashLengths[hash]}`, { field: `${field}.value` });
  }
  return { hash, hex: bytes.toString('hex') };
}

/**
 * The staged list has one entry per document, in order: content documents take the staged contents one
 * after the other, hash-only ones an entry with nothing stored (`hashOnly`; its sha256 is the digest
 * when the digest is a SHA-256). Fewer contents than content documents leaves the list short, which
 * the submission reports as a count mismatch.
 */
export function withHashOnlyDocuments(documents: ReadonlyArray<{ digest?: DocumentDigest }>, contents: readonly StagedDocument[]): StagedDocument[] {
  const staged: StagedDocument[] = [];
  let next = 0;
  for (const [index, document] of documents.entries()) {
    if (document.digest) {
      const { hash, hex } = readDocumentDigest(document.digest, `documents[${index}].digest`);
      staged.push({ id: uuid7(), size: 0, sha256: hash === 'sha256' ? hex : '', hashOnly: true });
    } else if (next < contents.length) {
      staged.push(contents[next++]);
    } else {
      break;
    }
  }
  return [...staged, ...contents.slice(next)];
}
