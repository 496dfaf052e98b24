import assert from 'node:assert/strict';
import { readSignedData } from '../../src/crypto/cms/signed-data-parts.js';
import { asn1parse } from './cades-archive.js';

/** The OCSPResponses a CMS carries as otherRevocationInfo id-ri-ocsp-response (RFC 5940 §4.1), read by openssl asn1parse. */
export function cmsOcspResponses(cms: Buffer): Buffer[] {
  return readSignedData(cms)
    .crls.filter((choice) => choice[0] === 0xa1)
    .map((choice) => {
      const node = asn1parse(choice);
      assert.equal(node.children[0]!.value, '1.3.6.1.5.5.7.16.2', 'id-ri-ocsp-response');
      return node.children[1]!.bytes;
    });
}
