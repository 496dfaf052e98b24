import { X509Certificate } from 'node:crypto';
import { SignetError, isSignetError } from '../../errors/signet-error.js';
import { parseTimeStampToken } from '../tsp/parse-time-stamp-token.js';
import { certificateListSignedBy, readCertificateList } from './certificate-list.js';
import { tags } from './der.js';
import { childrenOf, contentOf, decodeObjectIdentifier, readWhole } from './der-reader.js';
import { ID_AA_SIGNATURE_TIME_STAMP_TOKEN } from './signature-time-stamp-token.js';
import { readSignedData, withoutDuplicates, writeSignedData, type SignedDataParts, type SignerInfoParts } from './signed-data-parts.js';
import { readIssuerAndSerial } from './tbs-certificate.js';

/** Where B-LT's validation data comes from: issuer certificates, and each CA's current CRL. */
export interface ValidationDataSource {
  /** Certificates that may complete the chains: issuers of the signer's and the TSA's certificates, up to the root. */
  certificates: Buffer[];
  /**
   * The current CRL issued by this CA certificate (DER), or undefined when the source knows none.
   * May throw a transient SignetError when the CRL cannot be fetched right now.
   */
  crlFor(issuerCertificateDer: Buffer): Promise<Buffer | undefined>;
}

/**
 * CAdES-B-T → CAdES-B-LT (ETSI EN 319 122-1 §6.3, baseline B-LT): SignedData.certificates gets every
 * certificate of the signer's and each signature time-stamp's TSA chain, trust anchor included, and
 * SignedData.crls a current CRL from the issuer of every certificate below a trust anchor, so the
 * signature can be validated later without the network. The signed bytes are copied unchanged.
 *
 * Refuses (rather than writing a B-LT that is not one) when a chain cannot be completed, a CRL is missing,
 * stale or not signed by its CA (`validation_data_unavailable`), or lists one of the certificates
 * (`certificate_revoked`).
 */
export async function addLongTermValidationData(cmsDer: Buffer, source: ValidationDataSource, now = new Date()): Promise<Buffer> {
  const parts = readSignedData(cmsDer);
  const { certificates, crls } = await validationDataOf(parts, source, now);
  parts.certificates = withoutDuplicates(parts.certificates, certificates);
  parts.crls = withoutDuplicates(parts.crls, crls);
  return writeSignedData(parts);
}

/** Certificates (each chain up to its trust anchor) and current CRLs (DER) that let a signature be validated later. */
export interface LongTermValidationData {
  certificates: Buffer[];
  crls: Buffer[];
}

/**
 * The validation data addLongTermValidationData embeds, for a CAdES-B-T SignedData (DER), without
 * embedding it: for storing elsewhere, e.g. a PDF's DSS (PAdES-B-LT). Same checks and refusals.
 */
export async function signatureValidationData(cmsDer: Buffer, source: ValidationDataSource, now = new Date()): Promise<LongTermValidationData> {
  return validationDataOf(readSignedData(cmsDer), source, now);
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
  const pool = [...info.certificatesDer, ...source.certificates].map((der) => new X509Certificate(der));
  return chainsAndCrls([new X509Certificate(info.tsaCertificateDer)], pool, source, now);
}

async function validationDataOf(parts: SignedDataParts, source: ValidationDataSource, now: Date): Promise<LongTermValidationData> {
  const pool = [...parts.certificates, ...source.certificates].map((der) => new X509Certificate(der));
  const endEntities: X509Certificate[] = [];
  for (const signer of parts.signerInfos) {
    endEntities.push(signerCertificate(signer, pool));
    const tokens = signatureTimeStampTokens(signer);
    if (tokens.length === 0) throw new TypeError('B-LT is built on B-T: the SignerInfo has no signature time-stamp (addSignatureTimestamp first)');
    for (const token of tokens) {
      const info = parseTimeStampToken(token);
      if (!info.tsaCertificateDer) {
        throw new SignetError('validation_data_unavailable', 'The signature time-stamp token does not carry its TSA certificate');
      }
      pool.push(...info.certificatesDer.map((der) => new X509Certificate(der)));
      endEntities.push(new X509Certificate(info.tsaCertificateDer));
    }
  }
  return chainsAndCrls(endEntities, pool, source, now);
}

async function chainsAndCrls(
  endEntities: X509Certificate[],
  pool: X509Certificate[],
  source: ValidationDataSource,
  now: Date,
): Promise<LongTermValidationData> {
  const certificates: Buffer[] = [];
  const crls: Buffer[] = [];
  for (const endEntity of endEntities) {
    for (const [certificate, issuer] of chainOf(endEntity, pool)) {
      certificates.push(certificate.raw);
      if (!issuer) continue; // a trust anchor: nothing above it revokes it
      crls.push(await currentCrl(certificate, issuer, source, now));
    }
  }
  return { certificates: withoutDuplicates([], certificates), crls: withoutDuplicates([], crls) };
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
function signatureTimeStampTokens(signer: SignerInfoParts): Buffer[] {
  const tokens: Buffer[] = [];
  for (const encoded of signer.unsignedAttributes) {
    const attribute = readWhole(encoded, tags.sequence, 'Attribute');
    const [type, values] = childrenOf(encoded, attribute, 'Attribute');
    if (decodeObjectIdentifier(encoded, type) !== ID_AA_SIGNATURE_TIME_STAMP_TOKEN) continue;
    for (const value of childrenOf(encoded, values, 'AttributeValues')) tokens.push(encoded.subarray(value.start, value.end));
  }
  return tokens;
}

/** [certificate, its issuer] from the end entity up to a self-signed trust anchor (whose issuer is undefined). */
function chainOf(endEntity: X509Certificate, pool: X509Certificate[]): Array<[X509Certificate, X509Certificate | undefined]> {
  const chain: Array<[X509Certificate, X509Certificate | undefined]> = [];
  for (let certificate = endEntity; ; ) {
    if (certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey)) {
      chain.push([certificate, undefined]);
      return chain;
    }
    const issuer = pool.find((candidate) => certificate.checkIssued(candidate) && certificate.verify(candidate.publicKey));
    if (!issuer) {
      throw new SignetError(
        'validation_data_unavailable',
        `No issuer certificate for "${oneLine(certificate.subject)}" (issuer "${oneLine(certificate.issuer)}"); configure the full chain up to the root`,
      );
    }
    chain.push([certificate, issuer]);
    if (chain.length > 10) throw new SignetError('validation_data_unavailable', 'The certificate chain is longer than 10');
    certificate = issuer;
  }
}

async function currentCrl(certificate: X509Certificate, issuer: X509Certificate, source: ValidationDataSource, now: Date): Promise<Buffer> {
  let crlDer: Buffer | undefined;
  try {
    crlDer = await source.crlFor(issuer.raw);
  } catch (error) {
    if (isSignetError(error)) throw error;
    throw new SignetError('validation_data_unavailable', `The CRL of "${oneLine(issuer.subject)}" cannot be obtained: ${(error as Error).message}`, {
      cause: error,
      transient: true,
    });
  }
  if (!crlDer) throw new SignetError('validation_data_unavailable', `No CRL is known for "${oneLine(issuer.subject)}"`);
  const crl = readCertificateList(crlDer);
  const { issuer: issuerName, serialNumber } = readIssuerAndSerial(certificate.raw);
  if (!crl.issuer.equals(issuerName) || !certificateListSignedBy(crl, issuer)) {
    throw new SignetError('validation_data_unavailable', `The CRL given for "${oneLine(issuer.subject)}" is not issued by it`);
  }
  if (crl.thisUpdate > now || (crl.nextUpdate && crl.nextUpdate <= now)) {
    throw new SignetError('validation_data_unavailable', `The CRL of "${oneLine(issuer.subject)}" is not current (thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate?.toISOString()})`);
  }
  if (crl.revokedSerialNumbers.some((revoked) => revoked.equals(serialNumber))) {
    throw new SignetError('certificate_revoked', `The certificate "${oneLine(certificate.subject)}" is revoked`);
  }
  return crlDer;
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
