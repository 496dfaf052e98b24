import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import type { TimestampClient } from '../tsp/timestamp-client.js';
import { addLongTermValidationData, signatureTimeStampTokens, type ValidationDataSource } from './cades-baseline-lt.js';
import { addArchiveTimestamp, sha256MessageDigestOf } from './cades-baseline-lta.js';
import { checkImprint } from './cades-baseline-t.js';
import { DerShapeError } from './der-reader.js';
import { signatureTimeStampTokenAttribute } from './signature-time-stamp-token.js';
import { readSignedData, writeSignedData } from './signed-data-parts.js';

export interface ExtendCadesOptions {
  level: 'B-LT' | 'B-LTA';
  validationData: ValidationDataSource;
  timestampClient: TimestampClient;
  /** SHA-256 of the signed content when the client sent it: it must be what every signer signed. */
  originalSha256?: Buffer;
  now?: Date;
}

/**
 * Raises every SignerInfo of a CAdES signature (a `.p7s`, made by Signet or anyone) to B-LT or B-LTA
 * without adding a signer (API.md §3 "Extending existing signatures"; EN 319 122-1 §6.3):
 * a signature time-stamp for signers without one (B-T), then validation data (B-LT), then an
 * archive-time-stamp-v3 (B-LTA) — run on a B-LTA signature, a further one that covers the earlier
 * (renewal). The archive imprint needs the content's SHA-256: it is the signer's own message-digest
 * attribute (SHA-256 signatures only), so the content need not be sent again; when it is (`original`),
 * it must be what the signers signed.
 *
 * Input that is not a DER CMS SignedData with a signer is `not_signed`.
 */
export async function extendCadesSignature(cmsDer: Buffer, options: ExtendCadesOptions): Promise<Buffer> {
  let parts;
  try {
    parts = readSignedData(cmsDer);
  } catch (error) {
    if (!(error instanceof DerShapeError) && !(error instanceof RangeError)) throw error;
    throw new SignetError('not_signed', `The document is not a CMS signature (.p7s, DER SignedData) to extend: ${(error as Error).message}`, { cause: error });
  }
  if (parts.signerInfos.length === 0) throw new SignetError('not_signed', 'The CMS SignedData has no signer to extend');
  if (options.originalSha256) {
    for (const signer of parts.signerInfos) {
      let signed: Buffer | undefined;
      try {
        signed = sha256MessageDigestOf(signer);
      } catch {
        signed = undefined; // another digest algorithm: the original cannot be compared here
      }
      if (signed && !signed.equals(options.originalSha256)) {
        throw new SignetError('invalid_request', 'The original is not the content this signature signs (its SHA-256 differs from the signed message digest)');
      }
    }
  }

  let stamped = false;
  for (const signer of parts.signerInfos) {
    if (signatureTimeStampTokens(signer).length > 0) continue;
    const digest = createHash('sha256').update(signer.signatureValue).digest();
    const token = await options.timestampClient.timestamp(digest, 'sha256');
    checkImprint(token, digest, options.timestampClient.name);
    signer.unsignedAttributes.push(signatureTimeStampTokenAttribute(token));
    stamped = true;
  }
  const bt = stamped ? writeSignedData(parts) : cmsDer;
  if (options.level === 'B-LT') return addLongTermValidationData(bt, options.validationData, options.now);

  let contentDigest: Buffer;
  try {
    contentDigest = sha256MessageDigestOf(parts.signerInfos[0]!);
  } catch (error) {
    if (!(error instanceof TypeError) && !(error instanceof DerShapeError)) throw error;
    throw new SignetError('invalid_request', `The signature cannot be raised to B-LTA: ${error.message}`, { cause: error });
  }
  return addArchiveTimestamp(bt, { contentDigest, timestampClient: options.timestampClient, validationData: options.validationData, ...(options.now && { now: options.now }) });
}
