import { childrenOf, contentOf, DerShapeError, expectTag, readWhole } from '../../crypto/cms/der-reader.js';
import { parseTimeStampToken } from '../../crypto/tsp/parse-time-stamp-token.js';
import { decodeTstInfo } from '../../crypto/tsp/tst-info.js';

/**
 * genTime and imprint of a fresh token. A DER walk to the TSTInfo costs microseconds; the general
 * reader (asn1js, for BER from any TSA) cost 1.3 ms per token, the largest CPU item of a small-file
 * registration (bench/registrations.ts profile). BER tokens from external TSAs take the general path.
 */
export function tokenFacts(token: Buffer): { genTime: Date; digest: Buffer } {
  try {
    const contentInfo = readWhole(token, 0x30, 'ContentInfo');
    const [, explicitContent] = childrenOf(token, contentInfo, 'ContentInfo');
    const [signedData] = childrenOf(token, expectTag(explicitContent, 0xa0, 'ContentInfo.content'), 'content');
    const [, , encapContentInfo] = childrenOf(token, expectTag(signedData, 0x30, 'SignedData'), 'SignedData');
    const [, explicitEContent] = childrenOf(token, expectTag(encapContentInfo, 0x30, 'EncapsulatedContentInfo'), 'EncapsulatedContentInfo');
    const [eContent] = childrenOf(token, expectTag(explicitEContent, 0xa0, 'eContent'), 'eContent');
    const tstInfo = decodeTstInfo(Buffer.from(contentOf(token, expectTag(eContent, 0x04, 'eContent OCTET STRING'))));
    return { genTime: tstInfo.genTime, digest: Buffer.from(tstInfo.messageImprint.hashedMessage) };
  } catch (error) {
    if (!(error instanceof DerShapeError)) throw error;
    const info = parseTimeStampToken(token);
    return { genTime: info.genTime, digest: info.messageImprint.digest };
  }
}
