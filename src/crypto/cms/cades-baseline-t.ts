import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { TimeStampTokenError, parseTimeStampToken } from '../tsp/parse-time-stamp-token.js';
import type { TimestampClient } from '../tsp/timestamp-client.js';
import { ID_SHA256 } from './oids.js';
import { readSignedData, writeSignedData } from './signed-data-parts.js';
import { signatureTimeStampTokenAttribute } from './signature-time-stamp-token.js';

/**
 * CAdES-B-B → CAdES-B-T (ETSI EN 319 122-1 §6.3, baseline B-T): each SignerInfo gets an unsigned
 * signature-time-stamp attribute whose token is over SHA-256 of the signature value's octets (RFC 3161
 * Appendix A). The signed bytes — head of SignedData, every SignerInfo up to its signature — are copied
 * unchanged; only the sets that grow and the enclosing lengths are re-encoded.
 *
 * Takes the DER that createCadesDetachedSignature makes (or any definite-length DER SignedData). A TSA
 * that is down surfaces as the client's transient `tsa_unavailable`, so the task is retried rather than
 * delivered below its level.
 */
export async function addSignatureTimestamp(cmsDer: Buffer, client: TimestampClient): Promise<Buffer> {
  const parts = readSignedData(cmsDer);
  for (const signer of parts.signerInfos) {
    const digest = createHash('sha256').update(signer.signatureValue).digest();
    const token = await client.timestamp(digest, 'sha256');
    checkImprint(token, digest, client.name);
    signer.unsignedAttributes.push(signatureTimeStampTokenAttribute(token));
  }
  return writeSignedData(parts);
}

/**
 * The clients check this already; a TimestampClient of another make that returns a token over something
 * else would otherwise give a B-T (or B-LTA) signature whose time-stamp proves nothing. `over` names what
 * the SHA-256 `digest` is of, for the error.
 */
export function checkImprint(token: Buffer, digest: Buffer, tsaName: string, over = 'the signature value'): void {
  try {
    const { messageImprint } = parseTimeStampToken(token);
    if (messageImprint.hashAlgorithm !== ID_SHA256 || !messageImprint.digest.equals(digest)) {
      throw new TimeStampTokenError(`the token is not over ${over}`);
    }
  } catch (error) {
    if (!(error instanceof TimeStampTokenError)) throw error;
    throw new SignetError('tsa_failed', `The time-stamp from ${tsaName} cannot be used: ${error.message}`, { cause: error });
  }
}
