import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * RFC 6960 §4.1: the OCSP request for one certificate.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT GeneralName OPTIONAL,
 *                              requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 *
 * Pure: certificates in, DER out. Sending it is the caller's (through the outbound address policy).
 */

/** SHA-1 is what most responders index by (RFC 5019 §2.1.1); SHA-256 where a responder asks for it. */
export type OcspHash = 'sha1' | 'sha256';

export const OCSP_HASH_OIDS: Record<OcspHash, string> = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1' };
/** id-pkix-ocsp-nonce (RFC 6960 §4.4.1; RFC 8954 bounds it to 1..32 octets). */
export const OCSP_NONCE_OID = '1.3.6.1.5.5.7.48.1.2';

/** The fields of a CertID, as compared when a response is matched to its certificate. */
export interface OcspCertId {
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** The serial number's DER INTEGER content octets. */
  serialNumber: Buffer;
}

/** CertID of `certificateDer` under `issuerDer` with the hash named by its OID (sha1, sha256, sha384, sha512). */
export function ocspCertId(certificateDer: Buffer, issuerDer: Buffer, hashAlgorithmOid: string = OCSP_HASH_OIDS.sha1): OcspCertId {
  const hash = hashNameOf(hashAlgorithmOid);
  const certificate = pkijs.Certificate.fromBER(new Uint8Array(certificateDer));
  const issuer = pkijs.Certificate.fromBER(new Uint8Array(issuerDer));
  // issuerNameHash: over the DER of the issuer's subject, which is this certificate's issuer field.
  const issuerName = Buffer.from(issuer.subject.toSchema().toBER());
  // issuerKeyHash: over the issuer's subjectPublicKey BIT STRING value, without its unused-bits octet.
  const issuerKey = Buffer.from(issuer.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
  return {
    hashAlgorithm: hashAlgorithmOid,
    issuerNameHash: createHash(hash).update(issuerName).digest(),
    issuerKeyHash: createHash(hash).update(issuerKey).digest(),
    serialNumber: Buffer.from(certificate.serialNumber.valueBlock.valueHexView),
  };
}

/** A DER OCSPRequest for one certificate, unsigned; with a nonce when one is given (1–32 octets). */
export function buildOcspRequest(options: { certificateDer: Buffer; issuerDer: Buffer; hash?: OcspHash; nonce?: Buffer }): { der: Buffer; certId: OcspCertId } {
  const certId = ocspCertId(options.certificateDer, options.issuerDer, OCSP_HASH_OIDS[options.hash ?? 'sha1']);
  if (options.nonce && (options.nonce.length < 1 || options.nonce.length > 32)) throw new RangeError('an OCSP nonce is 1 to 32 octets (RFC 8954)');
  const request = new pkijs.OCSPRequest({
    tbsRequest: new pkijs.TBSRequest({
      requestList: [
        new pkijs.Request({
          reqCert: new pkijs.CertID({
            hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: certId.hashAlgorithm, algorithmParams: new asn1js.Null() }),
            issuerNameHash: new asn1js.OctetString({ valueHex: new Uint8Array(certId.issuerNameHash) }),
            issuerKeyHash: new asn1js.OctetString({ valueHex: new Uint8Array(certId.issuerKeyHash) }),
            serialNumber: new asn1js.Integer({ valueHex: new Uint8Array(certId.serialNumber) }),
          }),
        }),
      ],
      ...(options.nonce && {
        requestExtensions: [
          new pkijs.Extension({ extnID: OCSP_NONCE_OID, extnValue: new asn1js.OctetString({ valueHex: new Uint8Array(options.nonce) }).toBER() }),
        ],
      }),
    }),
  });
  return { der: Buffer.from(request.toSchema(true).toBER()), certId };
}

const HASH_NAMES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export function hashNameOf(hashAlgorithmOid: string): string {
  const name = HASH_NAMES[hashAlgorithmOid];
  if (!name) throw new RangeError(`hash algorithm ${hashAlgorithmOid} is not supported for OCSP CertIDs`);
  return name;
}

/**
 * RFC 6960 Appendix A.1: a request small enough (under 255 bytes encoded) may be sent as a GET to
 * `{url}/{url-encoding of base64 of the DER}` — cacheable by HTTP proxies, as RFC 5019 recommends.
 * Undefined when the request is too large for GET (send it as a POST).
 */
export function ocspGetUrl(responderUrl: string, requestDer: Buffer): string | undefined {
  const encoded = encodeURIComponent(requestDer.toString('base64'));
  if (encoded.length >= 255) return undefined;
  return `${responderUrl.replace(/\/+$/, '')}/${encoded}`;
}
