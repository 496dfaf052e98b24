import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { readTlv } from '../cms/der.js';
import { contentOf } from '../cms/der-reader.js';
import { readIssuerAndSerial } from '../cms/tbs-certificate.js';
import { hashNameOf, OCSP_NONCE_OID, ocspCertId, type OcspCertId } from './ocsp-request.js';
import { CRL_REASONS, isSupportedSignatureAlgorithm, RevocationDataError, signedBy } from './signed-by.js';
import { readPkijs } from '../cms/read-ber.js';

/**
 * RFC 6960 §4.2: an OCSP response, checked for one certificate.
 *
 *   OCSPResponse      ::= SEQUENCE { responseStatus OCSPResponseStatus, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm AlgorithmIdentifier,
 *                                    signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   SingleResponse    ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
 *                                    nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] … }
 *   CertStatus        ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
 *   RevokedInfo       ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
 *
 * Pure: bytes and certificates in, a verified verdict out, or an OcspResponseError saying why not.
 * Checked (§3.2): the response answers for this certificate (CertID matched with the response's own
 * hash algorithm), it is signed by the certificate's issuer or by a responder certificate the issuer
 * issued for OCSP signing (id-kp-OCSPSigning, §4.2.2.2), it is current (thisUpdate not in the future,
 * nextUpdate not passed, within a clock skew), and it echoes the nonce when one was sent and answered.
 */

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspVerdict {
  status: OcspCertStatus;
  /** Revoked: when, and the CRLReason when the responder gave one (RFC 5280 §5.3.1 names). */
  revokedAt?: Date;
  reason?: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  producedAt: Date;
  /** The certificate whose key signed the response: the issuer's, or a delegated responder's. */
  responderDer: Buffer;
  /**
   * A delegated responder without id-pkix-ocsp-nocheck (§4.2.2.2.1): its own revocation should be
   * checked by the relying party. False for the issuer itself and for nocheck responders.
   */
  responderNeedsRevocationCheck: boolean;
  /** Whether a nonce was sent and the response echoed it. */
  nonceMatched: boolean;
}

export type OcspFailure = 'malformed' | 'unsuccessful' | 'no_match' | 'unauthorized_responder' | 'bad_signature' | 'not_yet_valid' | 'expired' | 'nonce_mismatch';

export class OcspResponseError extends RevocationDataError<OcspFailure> {}

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
const ID_PKIX_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
const RESPONSE_STATUSES = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(unused)', 'sigRequired', 'unauthorized'];
export interface OcspCheckOptions {
  certificateDer: Buffer;
  issuerDer: Buffer;
  /** The time to judge freshness at (default now). */
  now?: Date;
  /** Clocks differ: thisUpdate may be this far ahead and nextUpdate this far behind (default 5 min). */
  maxClockSkewMs?: number;
  /** A response without nextUpdate is current this long after thisUpdate (default 24 h). */
  maxAgeWithoutNextUpdateMs?: number;
  /** The nonce sent in the request, if any. */
  nonce?: Buffer;
  /**
   * False for validation data read from a signature: it is judged as of when it was produced (the
   * responder's certificate then), and whether it is recent enough is the validator's question.
   */
  checkCurrency?: boolean;
}

export function verifyOcspResponse(der: Buffer, options: OcspCheckOptions): OcspVerdict {
  const now = options.now ?? new Date();
  const skew = options.maxClockSkewMs ?? 5 * 60_000;
  const basic = readBasicResponse(der);
  const data = basic.tbsResponseData;

  const single = data.responses.find((response) => matches(response.certID, options));
  if (!single) throw new OcspResponseError('no_match', 'The OCSP response does not answer for this certificate');

  const issuer = new X509Certificate(options.issuerDer);
  const signedBytes = Buffer.from(data.tbsView);
  const signature = Buffer.from(basic.signature.valueBlock.valueHexView);
  const algorithm = basic.signatureAlgorithm.algorithmId;
  if (!isSupportedSignatureAlgorithm(algorithm)) throw new OcspResponseError('bad_signature', `The OCSP response is signed with an unsupported algorithm (${algorithm})`);
  const signedWith = (key: KeyObject) => signedBy(algorithm, signedBytes, signature, key);

  let responderDer: Buffer | undefined;
  let needsCheck = false;
  if (signedWith(issuer.publicKey)) {
    responderDer = Buffer.from(options.issuerDer);
  } else {
    let authorized = 0;
    for (const candidate of basic.certs ?? []) {
      const candidateDer = Buffer.from(candidate.toSchema().toBER());
      const responder = new X509Certificate(candidateDer);
      if (!isAuthorizedResponder(responder, issuer, options.checkCurrency === false ? data.producedAt : now)) continue;
      authorized++;
      if (!signedWith(responder.publicKey)) continue;
      responderDer = candidateDer;
      needsCheck = !(candidate.extensions ?? []).some((extension) => extension.extnID === ID_PKIX_OCSP_NOCHECK);
      break;
    }
    if (!responderDer) {
      // No authorized responder among the certificates it carries: whoever signed it may not speak for this CA.
      const delegated = (basic.certs ?? []).length;
      if (delegated > 0 && authorized === 0) {
        throw new OcspResponseError('unauthorized_responder', 'The OCSP response is not signed by the issuer nor by a responder certificate the issuer issued for OCSP signing');
      }
      throw new OcspResponseError('bad_signature', 'The OCSP response signature does not verify with the issuer’s key nor its responder’s');
    }
  }

  if (options.checkCurrency !== false && single.thisUpdate.getTime() > now.getTime() + skew) {
    throw new OcspResponseError('not_yet_valid', `The OCSP response's thisUpdate (${single.thisUpdate.toISOString()}) is in the future`);
  }
  const currentUntil = single.nextUpdate ?? new Date(single.thisUpdate.getTime() + (options.maxAgeWithoutNextUpdateMs ?? 24 * 60 * 60_000));
  if (options.checkCurrency !== false && currentUntil.getTime() < now.getTime() - skew) {
    throw new OcspResponseError('expired', `The OCSP response is no longer current (${single.nextUpdate ? 'nextUpdate' : 'thisUpdate and the accepted age'}: ${currentUntil.toISOString()})`);
  }

  let nonceMatched = false;
  const echoed = (data.responseExtensions ?? []).find((extension) => extension.extnID === OCSP_NONCE_OID);
  if (options.nonce && echoed) {
    const value = Buffer.from((asn1js.fromBER(echoed.extnValue.valueBlock.valueHexView).result as asn1js.OctetString).valueBlock.valueHexView);
    if (!value.equals(options.nonce)) throw new OcspResponseError('nonce_mismatch', 'The OCSP response answers another request (its nonce differs)');
    nonceMatched = true;
  }

  return {
    ...certStatusOf(single.certStatus),
    thisUpdate: single.thisUpdate,
    ...(single.nextUpdate && { nextUpdate: single.nextUpdate }),
    producedAt: data.producedAt,
    responderDer,
    responderNeedsRevocationCheck: needsCheck,
    nonceMatched,
  };
}

/** What an OCSP response names and carries, read once per response bytes (a batch's documents share one). */
interface ResponseOutline {
  certIds: Array<{ hash: string; issuerNameHash: Buffer; serial: Buffer }>;
  certificates: Buffer[];
}

const outlines = new Map<string, ResponseOutline | null>();

function outlineOf(der: Buffer): ResponseOutline | null {
  const key = createHash('sha1').update(der).digest('base64');
  let outline = outlines.get(key);
  if (outline === undefined) {
    try {
      const basic = readBasicResponse(der);
      outline = {
        certIds: basic.tbsResponseData.responses.map((response) => ({
          hash: hashNameOf(response.certID.hashAlgorithm.algorithmId),
          issuerNameHash: Buffer.from(response.certID.issuerNameHash.valueBlock.valueHexView),
          serial: Buffer.from(response.certID.serialNumber.valueBlock.valueHexView),
        })),
        certificates: (basic.certs ?? []).map((certificate) => Buffer.from(certificate.toSchema().toBER())),
      };
    } catch {
      outline = null;
    }
    if (outlines.size >= 2_000) outlines.clear();
    outlines.set(key, outline);
  }
  return outline;
}

/**
 * Whether the response answers for this certificate by its CertID's serial number and issuer name hash
 * alone — without the issuer's certificate, which a document may not carry. For telling which
 * certificates a document's validation data is about, not for trusting the answer (verifyOcspResponse).
 */
export function ocspNamesCertificate(der: Buffer, certificateDer: Buffer): boolean {
  const outline = outlineOf(der);
  if (!outline) return false;
  try {
    const { issuer, serialNumber } = readIssuerAndSerial(certificateDer);
    const serial = contentOf(serialNumber, readTlv(serialNumber, 0));
    return outline.certIds.some((id) => id.serial.equals(serial) && id.issuerNameHash.equals(createHash(id.hash).update(issuer).digest()));
  } catch {
    return false;
  }
}

/** The certificates an OCSP response carries (a delegated responder's, with its chain); none when unreadable. */
export function ocspResponseCertificates(der: Buffer): Buffer[] {
  return outlineOf(der)?.certificates ?? [];
}

function readBasicResponse(der: Buffer): pkijs.BasicOCSPResponse {
  let response: pkijs.OCSPResponse;
  try {
    response = readPkijs(pkijs.OCSPResponse, new Uint8Array(der));
  } catch (error) {
    throw new OcspResponseError('malformed', `Not an OCSP response: ${(error as Error).message}`);
  }
  const status = response.responseStatus.valueBlock.valueDec;
  if (status !== 0) throw new OcspResponseError('unsuccessful', `The OCSP responder answered ${RESPONSE_STATUSES[status] ?? `status ${status}`}`);
  if (!response.responseBytes || response.responseBytes.responseType !== ID_PKIX_OCSP_BASIC) {
    throw new OcspResponseError('malformed', 'The OCSP response is not a basic response (id-pkix-ocsp-basic)');
  }
  try {
    return readPkijs(pkijs.BasicOCSPResponse, new Uint8Array(response.responseBytes.response.valueBlock.valueHexView));
  } catch (error) {
    throw new OcspResponseError('malformed', `The basic OCSP response does not parse: ${(error as Error).message}`);
  }
}

/** The response's CertID against ours, computed with the hash algorithm the responder chose. */
function matches(certId: pkijs.CertID, options: OcspCheckOptions): boolean {
  let ours: OcspCertId;
  try {
    hashNameOf(certId.hashAlgorithm.algorithmId);
    ours = ocspCertId(options.certificateDer, options.issuerDer, certId.hashAlgorithm.algorithmId);
  } catch {
    return false;
  }
  return (
    Buffer.from(certId.issuerNameHash.valueBlock.valueHexView).equals(ours.issuerNameHash) &&
    Buffer.from(certId.issuerKeyHash.valueBlock.valueHexView).equals(ours.issuerKeyHash) &&
    Buffer.from(certId.serialNumber.valueBlock.valueHexView).equals(ours.serialNumber)
  );
}

/** §4.2.2.2: issued by the CA (signature checked), for OCSP signing, valid now. */
function isAuthorizedResponder(responder: X509Certificate, issuer: X509Certificate, now: Date): boolean {
  if (!responder.checkIssued(issuer) || !responder.verify(issuer.publicKey)) return false;
  if (!(responder.keyUsage ?? []).includes(ID_KP_OCSP_SIGNING)) return false;
  return new Date(responder.validFrom) <= now && now <= new Date(responder.validTo);
}

function certStatusOf(certStatus: asn1js.AsnType): { status: OcspCertStatus; revokedAt?: Date; reason?: string } {
  const tag = (certStatus as asn1js.BaseBlock).idBlock.tagNumber;
  if (tag === 0) return { status: 'good' };
  if (tag === 2) return { status: 'unknown' };
  // revoked [1] IMPLICIT RevokedInfo: pkijs leaves it a constructed block of the SEQUENCE's elements.
  const [time, reason] = (certStatus as asn1js.Constructed).valueBlock.value;
  const revokedAt = (time as asn1js.GeneralizedTime).toDate();
  let reasonName: string | undefined;
  if (reason) {
    const code = ((reason as asn1js.Constructed).valueBlock.value[0] as asn1js.Enumerated).valueBlock.valueDec;
    reasonName = CRL_REASONS[code] ?? `reason ${code}`;
  }
  return { status: 'revoked', revokedAt, ...(reasonName && { reason: reasonName }) };
}
