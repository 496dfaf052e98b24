import { X509Certificate, createHash, verify } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { ECDSA_WITH_SHA256_ALGORITHM, RSA_ENCRYPTION_ALGORITHM, SHA256_ALGORITHM } from '../cms/algorithm-identifier.js';
import { attribute } from '../cms/attribute.js';
import { certificateSet } from '../cms/certificate-set.js';
import { contentInfo } from '../cms/content-info.js';
import { implicitConstructed, objectIdentifier, octetString, sequence, setOf, smallInteger, tags, tlv } from '../cms/der.js';
import { issuerAndSerialNumber } from '../cms/issuer-and-serial-number.js';
import { ID_CONTENT_TYPE, ID_SIGNED_DATA } from '../cms/oids.js';
import { messageDigestAttribute, signedAttributes } from '../cms/signed-attributes.js';
import { signerInfo } from '../cms/signer-info.js';
import { signingCertificateV2Attribute } from '../cms/signing-certificate-v2.js';
import { readIssuerAndSerial } from '../cms/tbs-certificate.js';
import type { Signer } from '../keys/signer.js';
import { ID_CT_TST_INFO } from './oids.js';

/*
 * TimeStampToken ::= ContentInfo                      -- RFC 3161 §2.4.2
 *      -- contentType is id-signedData ([CMS])
 *      -- content is SignedData ([CMS])
 *
 * with, inside SignedData (RFC 5652 §5.1, §5.3):
 *      version 3 (eContentType is not id-data), digestAlgorithms { sha256 },
 *      encapContentInfo { eContentType id-ct-TSTInfo, eContent [0] EXPLICIT OCTET STRING (TSTInfo DER) },
 *      certificates [0] IMPLICIT { the TSA certificate }     -- when the requester set certReq
 *      signerInfos { one SignerInfo: signed attributes contentType (id-ct-TSTInfo), messageDigest,
 *                    signingCertificateV2 (RFC 5816 §2.2.1: ESSCertIDv2 of the TSA certificate) }
 *
 * SignedData is written here rather than with cms/signed-data.ts because a token's certificates are
 * optional (certReq FALSE leaves them out) and that builder always writes them.
 * No signingTime attribute: genTime inside TSTInfo is the time that counts, and a second clock reading
 * in the same token only invites a verifier to compare the two.
 */

export type TimeStampTokenEncoder = (tstInfo: Buffer, includeCertificate: boolean) => Promise<Buffer>;

/**
 * Everything about a TSA that is the same in each token is encoded here once.
 *
 * The RSA operation goes through the Signer (synchronous privateEncrypt for PEM keys), like every other
 * signature in Signet. Signing on the libuv thread pool instead (crypto.sign with a callback) was
 * measured with bench/tsa.ts on this machine (2 shared cores, load ~4.5, RSA-2048): one token at a time
 * 1,640–2,450/s against 3,000/s through the Signer (the thread hop costs more than it frees), 8 in flight
 * 2,610–2,720/s against 2,670–2,720/s — no gain while the cores are busy anyway, so one code path stays.
 */
export function timeStampTokenEncoder(signer: Signer): TimeStampTokenEncoder {
  const certificateFields = readIssuerAndSerial(signer.certificateDer);
  const signedDataHead = Buffer.concat([smallInteger(3), setOf([SHA256_ALGORITHM])]);
  const eContentType = objectIdentifier(ID_CT_TST_INFO);
  const contentTypeAttribute = attribute(ID_CONTENT_TYPE, eContentType);
  const essAttribute = signingCertificateV2Attribute(signer.certificateDer, certificateFields);
  const certificates = implicitConstructed(0, certificateSet([signer.certificateDer]));
  const sid = issuerAndSerialNumber(certificateFields);
  const signatureAlgorithm = signer.keyAlgorithm === 'RSA' ? RSA_ENCRYPTION_ALGORITHM : ECDSA_WITH_SHA256_ALGORITHM;
  const publicKey = new X509Certificate(signer.certificateDer).publicKey;

  return async (tstInfo, includeCertificate) => {
    const attributes = signedAttributes([
      contentTypeAttribute,
      messageDigestAttribute(createHash('sha256').update(tstInfo).digest()),
      essAttribute,
    ]);
    const signature = await signer.signDigest(createHash('sha256').update(attributes).digest(), 'sha256');
    // A token that does not verify would be embedded in B-T signatures and fail at the client's verifier
    // years later; checking costs ~0.02 ms against ~0.27 ms for the RSA-2048 signature (bench/tsa.ts),
    // spent only on Signers that do not guarantee their answers (HSMs, remote services).
    if (!signer.verifiesItself && !verify('sha256', attributes, publicKey, signature)) {
      throw new SignetError('internal_error', `TSA key "${signer.name}" produced a signature that does not verify`);
    }
    const signedData = tlv(
      tags.sequence,
      signedDataHead,
      sequence(eContentType, tlv(tags.contextConstructed(0), octetString(tstInfo))),
      ...(includeCertificate ? [certificates] : []),
      setOf([
        signerInfo({
          issuerAndSerialNumber: sid,
          digestAlgorithm: SHA256_ALGORITHM,
          signedAttributes: attributes,
          signatureAlgorithm,
          signature,
        }),
      ]),
    );
    return contentInfo(ID_SIGNED_DATA, signedData);
  };
}
