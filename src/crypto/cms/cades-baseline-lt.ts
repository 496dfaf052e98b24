import type { X509Certificate } from 'node:crypto';
import { SignetError, isSignetError } from '../../errors/signet-error.js';
import { parseTimeStampToken } from '../tsp/parse-time-stamp-token.js';
import type { RevocationEvidence } from '../revocation/revocation-evidence.js';
import { implicitConstructed, objectIdentifier, sequence, tags } from './der.js';
import { issuedBy, parsedCertificate } from './parsed-certificates.js';
import { childrenOf, contentOf, decodeObjectIdentifier, readWhole } from './der-reader.js';
import { ID_AA_SIGNATURE_TIME_STAMP_TOKEN } from './signature-time-stamp-token.js';
import { readSignedData, withoutDuplicates, writeSignedData, type SignedDataParts, type SignerInfoParts } from './signed-data-parts.js';
import { readIssuerAndSerial } from './tbs-certificate.js';

/** RFC 5940 §4.1: id-ri-ocsp-response. */
const ID_RI_OCSP_RESPONSE = '1.3.6.1.5.5.7.16.2';

/**
 * Where B-LT's validation data comes from. The source verifies what it gives: an issuer certificate
 * really issued the certificate, revocation evidence is signed by the CA (or its responder) and current.
 */
export interface ValidationDataSource {
  /** Certificates that may complete the chains: issuers of the signer's and the TSA's certificates, up to the root. */
  certificates: Buffer[];
  /**
   * The issuer of a certificate none of the known certificates issued (AIA caIssuers, say); undefined
   * when there is none to be had. May throw a transient SignetError when it cannot be fetched right now.
   */
  issuerOf?(certificateDer: Buffer): Promise<Buffer | undefined>;
  /**
   * What the CA says of `certificateDer` now: a verified, current OCSP response or CRL; undefined when
   * the certificate names no source. May throw a transient SignetError when the CA cannot be reached.
   */
  revocationOf(certificateDer: Buffer, issuerDer: Buffer, now: Date): Promise<RevocationEvidence | undefined>;
}

/**
 * CAdES-B-T → CAdES-B-LT (ETSI EN 319 122-1 §6.3, baseline B-LT): SignedData.certificates gets every
 * certificate of the signer's and each signature time-stamp's TSA chain, trust anchor included (and the
 * OCSP responders' certificates), and SignedData.crls, for every certificate below a trust anchor, its
 * CA's current OCSP response (as otherRevocationInfo id-ri-ocsp-response, RFC 5940 §4.1) or CRL, so
 * the signature can be validated later without the network. The signed bytes are copied unchanged.
 *
 * Refuses (rather than writing a B-LT that is not one) when a chain cannot be completed or no current
 * revocation data can be had (`validation_data_unavailable`, transient when a CA could not be reached),
 * or when a certificate is revoked (`certificate_revoked`).
 */
export async function addLongTermValidationData(cmsDer: Buffer, source: ValidationDataSource, now = new Date()): Promise<Buffer> {
  const parts = readSignedData(cmsDer);
  const data = await validationDataOf(parts, source, now);
  parts.certificates = withoutDuplicates(parts.certificates, data.certificates);
  parts.crls = withoutDuplicates(parts.crls, revocationInfoChoicesOf(data));
  return writeSignedData(parts);
}

/**
 * Certificates (each chain up to its trust anchor, OCSP responders too), current CRLs and OCSP
 * responses (OCSPResponse), all DER, that let a signature be validated later.
 */
export interface LongTermValidationData {
  certificates: Buffer[];
  crls: Buffer[];
  ocsps: Buffer[];
}

/** RFC 5652 §10.2.1 RevocationInfoChoice encodings of `data`: each CRL as it is, each OCSP response as `other`. */
export function revocationInfoChoicesOf(data: Pick<LongTermValidationData, 'crls' | 'ocsps'>): Buffer[] {
  return [...data.crls, ...data.ocsps.map(ocspRevocationInfo)];
}

/**
 * The validation data addLongTermValidationData embeds, for a CAdES-B-T SignedData (DER), without
 * embedding it: for storing elsewhere, e.g. a PDF's DSS (PAdES-B-LT). Same checks and refusals.
 * `requireTimestamp: false` takes a signature without a signature time-stamp too (a PAdES signature
 * whose B-T level is a document time-stamp).
 */
export async function signatureValidationData(
  cmsDer: Buffer,
  source: ValidationDataSource,
  now = new Date(),
  options: { requireTimestamp?: boolean } = {},
): Promise<LongTermValidationData> {
  return validationDataOf(readSignedData(cmsDer), source, now, options.requireTimestamp ?? true);
}

/**
 * The validation data of a time-stamp token's TSA (its chain and CRLs), e.g. for a PAdES document
 * time-stamp (B-LTA). Same checks and refusals as for a signature.
 */
export async function timeStampValidationData(tokenDer: Buffer, source: ValidationDataSource, now = new Date()): Promise<LongTermValidationData> {
  const info = parseTimeStampToken(tokenDer);
  if (!info.tsaCertificateDer) {
    throw new SignetError('validation_data_unavailable', 'The time-stamp token does not carry its TSA certificate');
  }
  const pool = [...info.certificatesDer, ...source.certificates].map((der) => parsedCertificate(der));
  return chainsAndRevocation([parsedCertificate(info.tsaCertificateDer)], pool, source, now);
}

/**
 * The validation data of signers read elsewhere (a BER CMS that signed-data-parts cannot take apart, say):
 * each end entity's chain — from `pool`, the source's certificates and AIA — with revocation data.
 */
export async function endEntitiesValidationData(endEntities: Buffer[], pool: Buffer[], source: ValidationDataSource, now = new Date()): Promise<LongTermValidationData> {
  return chainsAndRevocation(
    endEntities.map((der) => parsedCertificate(der)),
    [...pool, ...source.certificates].map((der) => parsedCertificate(der)),
    source,
    now,
  );
}

async function validationDataOf(parts: SignedDataParts, source: ValidationDataSource, now: Date, requireTimestamp = true): Promise<LongTermValidationData> {
  const pool = [...parts.certificates, ...source.certificates].map((der) => parsedCertificate(der));
  const endEntities: X509Certificate[] = [];
  for (const signer of parts.signerInfos) {
    endEntities.push(signerCertificate(signer, pool));
    const tokens = signatureTimeStampTokens(signer);
    if (tokens.length === 0 && requireTimestamp) throw new TypeError('B-LT is built on B-T: the SignerInfo has no signature time-stamp (addSignatureTimestamp first)');
    for (const token of tokens) {
      const info = parseTimeStampToken(token);
      if (!info.tsaCertificateDer) {
        throw new SignetError('validation_data_unavailable', 'The signature time-stamp token does not carry its TSA certificate');
      }
      pool.push(...info.certificatesDer.map((der) => parsedCertificate(der)));
      endEntities.push(parsedCertificate(info.tsaCertificateDer));
    }
  }
  return chainsAndRevocation(endEntities, pool, source, now);
}

/** OCSP responders whose own revocation is checked too (RFC 6960 §4.2.2.2.1), at most this many per call. */
const MAX_RESPONDER_CHECKS = 8;

async function chainsAndRevocation(
  endEntities: X509Certificate[],
  pool: X509Certificate[],
  source: ValidationDataSource,
  now: Date,
): Promise<LongTermValidationData> {
  const certificates: Buffer[] = [];
  const crls: Buffer[] = [];
  const ocsps: Buffer[] = [];
  const queue = [...endEntities];
  const limit = endEntities.length + MAX_RESPONDER_CHECKS;
  for (let next = 0; next < queue.length; next++) {
    for (const [certificate, issuer] of await chainOf(queue[next]!, pool, source)) {
      certificates.push(certificate.raw);
      if (!issuer) continue; // a trust anchor: nothing above it revokes it
      const evidence = await revocationOf(certificate, issuer, source, now);
      if (evidence.source === 'crl') {
        crls.push(evidence.der);
        continue;
      }
      ocsps.push(evidence.der);
      const responder = evidence.verdict.responderDer;
      if (responder.equals(issuer.raw)) continue;
      // A delegated responder: its certificate is part of the data; without id-pkix-ocsp-nocheck its own status too.
      certificates.push(responder);
      if (evidence.verdict.responderNeedsRevocationCheck && queue.length < limit && !queue.some((queued) => queued.raw.equals(responder))) {
        queue.push(parsedCertificate(responder));
      }
    }
  }
  return { certificates: withoutDuplicates([], certificates), crls: withoutDuplicates([], crls), ocsps: withoutDuplicates([], ocsps) };
}

/** The certificate named by the SignerInfo's IssuerAndSerialNumber (RFC 5652 §5.3), compared byte for byte. */
function signerCertificate(signer: SignerInfoParts, pool: X509Certificate[]): X509Certificate {
  const sid = readWhole(signer.sid, tags.sequence, 'SignerInfo.sid');
  const sidContent = contentOf(signer.sid, sid);
  const found = pool.find((certificate) => {
    const { issuer, serialNumber } = readIssuerAndSerial(certificate.raw);
    return sidContent.equals(Buffer.concat([issuer, serialNumber]));
  });
  if (!found) throw new SignetError('validation_data_unavailable', 'The signer certificate is not in the signature');
  return found;
}

/** The values of every id-aa-signatureTimeStampToken unsigned attribute. */
export function signatureTimeStampTokens(signer: SignerInfoParts): Buffer[] {
  const tokens: Buffer[] = [];
  for (const encoded of signer.unsignedAttributes) {
    const attribute = readWhole(encoded, tags.sequence, 'Attribute');
    const [type, values] = childrenOf(encoded, attribute, 'Attribute');
    if (decodeObjectIdentifier(encoded, type) !== ID_AA_SIGNATURE_TIME_STAMP_TOKEN) continue;
    for (const value of childrenOf(encoded, values, 'AttributeValues')) tokens.push(encoded.subarray(value.start, value.end));
  }
  return tokens;
}

/**
 * [certificate, its issuer] from the end entity up to a self-signed trust anchor (whose issuer is
 * undefined); an issuer missing from the pool is asked of the source (AIA) and joins the pool.
 */
async function chainOf(endEntity: X509Certificate, pool: X509Certificate[], source: ValidationDataSource): Promise<Array<[X509Certificate, X509Certificate | undefined]>> {
  const chain: Array<[X509Certificate, X509Certificate | undefined]> = [];
  for (let certificate = endEntity; ; ) {
    if (issuedBy(certificate, certificate)) {
      chain.push([certificate, undefined]);
      return chain;
    }
    let issuer = pool.find((candidate) => issuedBy(certificate, candidate));
    if (!issuer) {
      const fetched = await asValidationDataError(() => source.issuerOf?.(certificate.raw), `The issuer of "${oneLine(certificate.subject)}"`);
      if (fetched) {
        const candidate = parsedCertificate(fetched);
        if (issuedBy(certificate, candidate)) {
          issuer = candidate;
          pool.push(candidate);
        }
      }
    }
    if (!issuer) {
      throw new SignetError(
        'validation_data_unavailable',
        `No issuer certificate for "${oneLine(certificate.subject)}" (issuer "${oneLine(certificate.issuer)}"): add it to the key's chain, or use a certificate whose AIA names it`,
      );
    }
    chain.push([certificate, issuer]);
    if (chain.length > 10) throw new SignetError('validation_data_unavailable', 'The certificate chain is longer than 10');
    certificate = issuer;
  }
}

/** Current, verified revocation evidence for `certificate`; a revoked certificate is `certificate_revoked`. */
async function revocationOf(certificate: X509Certificate, issuer: X509Certificate, source: ValidationDataSource, now: Date): Promise<RevocationEvidence> {
  const subject = oneLine(certificate.subject);
  const evidence = await asValidationDataError(() => source.revocationOf(certificate.raw, issuer.raw, now), `The revocation status of "${subject}"`);
  if (!evidence) {
    throw new SignetError('validation_data_unavailable', `No revocation data is known for "${subject}": it names no OCSP responder and no CRL distribution point`);
  }
  const { verdict } = evidence;
  if (verdict.status === 'revoked') {
    const reason = verdict.reason ? ` (${verdict.reason})` : '';
    throw new SignetError('certificate_revoked', `The certificate "${subject}" is revoked since ${verdict.revokedAt?.toISOString() ?? 'an unknown time'}${reason}, says its CA's ${evidence.source === 'ocsp' ? 'OCSP responder' : 'CRL'}`);
  }
  if (verdict.status !== 'good') throw new SignetError('validation_data_unavailable', `The OCSP responder of "${oneLine(issuer.subject)}" does not know "${subject}"`);
  return evidence;
}

/** A source's failure as a SignetError: its own, or a transient validation_data_unavailable for anything else. */
async function asValidationDataError<T>(call: () => Promise<T> | undefined, what: string): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (isSignetError(error)) throw error;
    throw new SignetError('validation_data_unavailable', `${what} cannot be obtained: ${(error as Error).message}`, { cause: error, transient: true });
  }
}

/** RevocationInfoChoice `other [1] IMPLICIT OtherRevocationInfoFormat { id-ri-ocsp-response, OCSPResponse }` (RFC 5940 §4.1). */
function ocspRevocationInfo(ocspResponseDer: Buffer): Buffer {
  return implicitConstructed(1, sequence(objectIdentifier(ID_RI_OCSP_RESPONSE), ocspResponseDer));
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
