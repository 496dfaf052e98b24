import { addSignatureTimestamp } from '../../cms/cades-baseline-t.js';
import { createCadesDetachedSignature } from '../../cms/cades-detached.js';
import type { Signer } from '../../keys/signer.js';
import type { TimestampClient } from '../../tsp/timestamp-client.js';

/**
 * Produces the DER CMS (ContentInfo with SignedData) to embed in /Contents, given the SHA-256 of the
 * signed byte ranges.
 */
export type PadesCmsFactory = (messageDigest: Buffer) => Promise<Buffer>;

/**
 * The CMS of a PAdES baseline signature (ETSI EN 319 142-1 §6.3): CAdES detached over the byte ranges'
 * digest, signingCertificateV2, and no signingTime attribute (Table 1: the time is the signature
 * dictionary's /M). With a timestamp client the SignerInfo also gets the signature-timestamp unsigned
 * attribute (B-T, §6.3 / EN 319 122-1 §5.3), over the signature value.
 */
export function padesCmsFactory(signer: Signer, options: { timestampClient?: TimestampClient } = {}): PadesCmsFactory {
  const { timestampClient } = options;
  return async (messageDigest) => {
    const cms = await createCadesDetachedSignature({ messageDigest, signer });
    return timestampClient ? addSignatureTimestamp(cms, timestampClient) : cms;
  };
}
