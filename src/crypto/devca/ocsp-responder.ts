import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { derNull, generalizedTime, objectIdentifier, octetString, sequence, tlv } from '../cms/der.js';
import { hashNameOf, OCSP_NONCE_OID, ocspCertId } from '../revocation/ocsp-request.js';
import type { RevokedCertificate } from './crl.js';

/**
 * An RFC 6960 OCSP responder for one CA that Signet runs itself (the development CA): answers are
 * signed by the CA's own key (§4.2.2.2, no delegated responder to configure), for the certificates it
 * issued — `good`, or `revoked` with time and reason from the same list its CRL publishes — and
 * `unknown` for serial numbers it never issued. Served at POST /pki/ocsp and GET /pki/ocsp/{request}
 * and asked in-process when Signet embeds its own answers at B-LT.
 *
 *   OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT SEQUENCE { responseType, response OCTET STRING } }
 *   ResponseData ::= SEQUENCE { responderID [2] EXPLICIT KeyHash, producedAt, responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT … }
 */

/** Where the development CA's responder is served, named in its certificates' AIA. */
export const OCSP_PATH = '/pki/ocsp';

export function ocspUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${OCSP_PATH}`;
}

export interface OcspResponderOptions {
  caCertificatePem: string;
  caKeyPem: string;
  /** The certificates this CA issued (DER): what it answers `good` or `revoked` for. */
  issued: Buffer[];
  /** Revoked certificates, read at each answer; the CRL issuer's list. */
  revoked?: () => RevokedCertificate[] | Promise<RevokedCertificate[]>;
  /** nextUpdate − thisUpdate; default 1 day. */
  validityMs?: number;
  now?: () => number;
}

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** thisUpdate is set this far back, as CRLs and certificates are: verifiers with a slow clock still accept it. */
const BACKDATE_MS = 5 * 60 * 1000;
const STATUS = { successful: 0, malformedRequest: 1, internalError: 2, unauthorized: 6 } as const;

export class OcspResponder {
  readonly issuerCertificateDer: Buffer;
  readonly #key: KeyObject;
  readonly #issued: Buffer[];
  readonly #revoked: () => RevokedCertificate[] | Promise<RevokedCertificate[]>;
  readonly #validityMs: number;
  readonly #now: () => number;
  readonly #keyHash: Buffer;

  constructor(options: OcspResponderOptions) {
    this.issuerCertificateDer = new X509Certificate(options.caCertificatePem).raw;
    this.#key = createPrivateKey(options.caKeyPem);
    this.#issued = options.issued;
    this.#revoked = options.revoked ?? (() => []);
    this.#validityMs = options.validityMs ?? 24 * 60 * 60_000;
    this.#now = options.now ?? Date.now;
    // ResponderID byKey: SHA-1 of the CA's subjectPublicKey bits — the issuerKeyHash of a SHA-1 CertID.
    this.#keyHash = ocspCertId(this.issuerCertificateDer, this.issuerCertificateDer).issuerKeyHash;
  }

  /** The DER OCSPResponse to a DER OCSPRequest; never throws: a bad request gets `malformedRequest`. */
  async respond(requestDer: Buffer): Promise<Buffer> {
    let request: pkijs.OCSPRequest;
    try {
      request = pkijs.OCSPRequest.fromBER(new Uint8Array(requestDer));
    } catch {
      return unsuccessful(STATUS.malformedRequest);
    }
    const certIds = request.tbsRequest.requestList.map((entry) => entry.reqCert);
    if (certIds.length === 0) return unsuccessful(STATUS.malformedRequest);
    const nonce = request.tbsRequest.requestExtensions?.find((extension) => extension.extnID === OCSP_NONCE_OID);
    const singles: Buffer[] = [];
    for (const certId of certIds) {
      const single = await this.#singleResponse(certId);
      // §2.3: a request about certificates of another CA is not ours to answer.
      if (!single) return unsuccessful(STATUS.unauthorized);
      singles.push(single);
    }
    return this.#signed(singles, nonce ? [Buffer.from(nonce.toSchema().toBER())] : []);
  }

  /** The answer for one certificate this CA issued (what B-LT embeds), without a nonce. */
  async responseFor(certificateDer: Buffer): Promise<Buffer> {
    const certId = pkijs.CertID.fromBER(new Uint8Array(this.#certIdDer(certificateDer)));
    const single = await this.#singleResponse(certId);
    if (!single) throw new RangeError('The certificate is not issued by this CA');
    return this.#signed([single], []);
  }

  #certIdDer(certificateDer: Buffer): Buffer {
    const id = ocspCertId(certificateDer, this.issuerCertificateDer);
    return sequence(sequence(objectIdentifier(id.hashAlgorithm), derNull), octetString(id.issuerNameHash), octetString(id.issuerKeyHash), tlv(0x02, id.serialNumber));
  }

  /** SingleResponse for `certId`, or undefined when its issuer is not this CA. */
  async #singleResponse(certId: pkijs.CertID): Promise<Buffer | undefined> {
    const hashOid = certId.hashAlgorithm.algorithmId;
    let ours;
    try {
      hashNameOf(hashOid);
      ours = ocspCertId(this.issuerCertificateDer, this.issuerCertificateDer, hashOid);
    } catch {
      return undefined;
    }
    const nameHash = Buffer.from(certId.issuerNameHash.valueBlock.valueHexView);
    const keyHash = Buffer.from(certId.issuerKeyHash.valueBlock.valueHexView);
    if (!nameHash.equals(ours.issuerNameHash) || !keyHash.equals(ours.issuerKeyHash)) return undefined;
    const serial = Buffer.from(certId.serialNumber.valueBlock.valueHexView);

    const now = this.#now();
    const thisUpdate = new Date(now - BACKDATE_MS);
    const known = this.#issued.some((der) => ocspCertId(der, this.issuerCertificateDer, hashOid).serialNumber.equals(serial));
    const hex = serial.toString('hex').replace(/^(00)+(?=.)/, '').toUpperCase();
    const revoked = (await this.#revoked()).find((entry) => entry.serialNumber.replace(/^(00)+(?=.)/, '').toUpperCase() === hex);
    let status: Buffer;
    if (revoked) {
      const reason = revoked.reason !== undefined ? [tlv(0xa0, tlv(0x0a, Buffer.from([revoked.reason])))] : [];
      status = tlv(0xa1, generalizedTime(revoked.revocationDate), ...reason); // revoked [1] IMPLICIT RevokedInfo
    } else {
      status = Buffer.from(known ? [0x80, 0x00] : [0x82, 0x00]); // good [0] / unknown [2] IMPLICIT NULL
    }
    return sequence(Buffer.from(certId.toSchema().toBER()), status, generalizedTime(thisUpdate), tlv(0xa0, generalizedTime(new Date(thisUpdate.getTime() + this.#validityMs))));
  }

  #signed(singles: Buffer[], extensions: Buffer[]): Buffer {
    const responseData = sequence(
      tlv(0xa2, octetString(this.#keyHash)), // responderID byKey [2]
      generalizedTime(new Date(Math.floor(this.#now() / 1000) * 1000)),
      sequence(...singles),
      ...(extensions.length > 0 ? [tlv(0xa1, sequence(...extensions))] : []),
    );
    const rsa = this.#key.asymmetricKeyType === 'rsa';
    const algorithm = rsa ? sequence(objectIdentifier(SHA256_WITH_RSA), derNull) : sequence(objectIdentifier(ECDSA_WITH_SHA256));
    const signature = sign('sha256', responseData, rsa ? this.#key : { key: this.#key, dsaEncoding: 'der' });
    const basic = sequence(responseData, algorithm, tlv(0x03, Buffer.from([0]), signature));
    return sequence(tlv(0x0a, Buffer.from([STATUS.successful])), tlv(0xa0, sequence(objectIdentifier(ID_PKIX_OCSP_BASIC), octetString(basic))));
  }
}

function unsuccessful(status: number): Buffer {
  return sequence(tlv(0x0a, Buffer.from([status])));
}
