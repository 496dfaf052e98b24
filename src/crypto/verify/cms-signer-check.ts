import { X509Certificate, constants, createHash, publicDecrypt, verify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNING_TIME } from '../cms/oids.js';
import { ID_AA_SIGNATURE_TIME_STAMP_TOKEN } from '../cms/signature-time-stamp-token.js';
import { tags, tlv } from '../cms/der.js';
import { parsedCertificate } from '../cms/parsed-certificates.js';
import { isIssuerAndSerialOf } from '../cms/tbs-certificate.js';
import { imprintHashForOid } from '../tsp/oids.js';
import { parseTimeStampToken, verifyTimeStampTokenSignature } from '../tsp/parse-time-stamp-token.js';
import { attributeValue, elementsOf, octets, oidOf, type CmsSignedData, type CmsSignerInfo } from './signed-data.js';

/*
 * Checking one SignerInfo of a CMS SignedData (RFC 5652 §5.4, §5.6) against the content it signs:
 * the messageDigest attribute is the digest of the content, the signature over the signed attributes
 * verifies with the signer's certificate, and the ESS signing-certificate attribute (RFC 2634 §5.4,
 * RFC 5035 §3) names that certificate. A signature time-stamp (CAdES, EN 319 122-1 §5.3) is checked
 * too: its own signature, and that it covers this signature value.
 *
 * Problems are sentences starting with a stable code (`code: what and why`), so a person can act on
 * them and a program can match them.
 */

/** RFC 2634 §5.4: id-aa-signingCertificate (ESS v1, SHA-1). */
const ID_AA_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
const RSASSA_PSS = '1.2.840.113549.1.1.10';
/** RFC 5126 §5.11.4: id-aa-ets-contentTimestamp. */
const ID_AA_CONTENT_TIME_STAMP = '1.2.840.113549.1.9.16.2.20';


/** DigestInfo prefixes (RFC 8017 §9.2 note 1): a bare PKCS#1 signature is over one of these. */
const digestInfoPrefixes: Record<string, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export interface SignerCheck {
  /** The signed bytes and attributes match the signature value. */
  intact: boolean;
  /** The signer's certificate, when the CMS carries one matching sid. */
  certificate?: X509Certificate;
  /** ESS signing-certificate v2 (CAdES / PAdES baseline), v1, or none (plain PKCS#7). */
  essSigningCertificate: 'v2' | 'v1' | 'none';
  /** The signingTime attribute: what the signer claims, not proven. */
  claimedSigningTime?: Date;
  timestamp?: SignatureTimestamp;
  /** A content time-stamp (signed attribute, EN 319 122-1 §5.2.8): the content existed before it. */
  contentTimestamp?: SignatureTimestamp;
  problems: string[];
}

export interface SignatureTimestamp {
  genTime: Date;
  /** The TSA certificate's subject, one line. */
  tsa: string;
  /** The token's signature holds and its imprint is the digest of the signature value. */
  intact: boolean;
  certificate?: X509Certificate;
  certificatesDer: Buffer[];
}

export interface SignedContent {
  /** The digest of the signed content with the named hash (sha1, sha256, …). */
  digest(name: string): Buffer;
  /** The content itself, when the caller holds it (a detached signature's archive-time-stamp-v2 covers it). */
  bytes?: Buffer;
}

export function checkSigner(cms: CmsSignedData, signer: CmsSignerInfo, content: SignedContent): SignerCheck {
  const problems: string[] = [];
  const digestName = imprintHashForOid(signer.digestAlgorithm);
  const found = findCertificate(cms.certificates, signer.sid);
  const certificate = found.certificate;
  const check: SignerCheck = { intact: false, certificate, essSigningCertificate: 'none', problems };
  if (found.unreadable) problems.push('signature_malformed: the signer\'s certificate in the CMS does not parse as a DER certificate (OpenSSL and BouncyCastle refuse it too)');
  else if (!certificate) problems.push('signer_certificate_missing: the CMS does not carry the certificate its SignerInfo names');
  if (!digestName) {
    problems.push(`unsupported_algorithm: digest algorithm ${signer.digestAlgorithm} is not supported`);
    return check;
  }
  const contentDigest = content.digest(digestName);

  if (signer.signedAttributesEncoded) {
    const digestMatches = messageDigestOf(signer)?.equals(contentDigest) === true;
    if (!digestMatches) problems.push('digest_mismatch: the signed content was changed — its digest is not the one the signature carries');
    if (!signer.signedAttributes.some((attribute) => attribute.type === ID_CONTENT_TYPE)) problems.push('content_type_missing: the signed attributes lack contentType (RFC 5652 §11.1)');
    // RFC 5652 §5.4: the signature is over the DER encoding of the attributes, a SET OF in sorted order,
    // whatever order they are stored in. Signers that signed the stored, unsorted order are told apart.
    const derBytes = derSetOf(signer.signedAttributes.map((attribute) => attribute.encoded));
    const signatureHolds = certificate !== undefined && verifySignatureValue(certificate.publicKey, digestName, signer, derBytes, problems);
    check.intact = digestMatches && signatureHolds;
    if (certificate && !signatureHolds && !problems.some((problem) => problem.startsWith('unsupported'))) {
      const storedBytes = Buffer.from(signer.signedAttributesEncoded);
      storedBytes[0] = 0x31;
      if (!storedBytes.equals(derBytes) && verifySignatureValue(certificate.publicKey, digestName, signer, storedBytes, [])) {
        problems.push(
          'signed_attributes_not_der: the signature is over the signed attributes in their stored order, which is not DER ' +
            '(RFC 5652 §5.4 requires the sorted DER encoding); tools that hash the stored bytes accept it, ETSI validators do not',
        );
      } else {
        problems.push('signature_invalid: the signature value does not verify with the signer certificate');
      }
    }
    check.claimedSigningTime = readTime(attributeValue(signer.signedAttributes, ID_SIGNING_TIME));
    check.essSigningCertificate = checkEss(signer, certificate, problems);
  } else if (certificate) {
    // No signed attributes: the signature is directly over the content's DigestInfo (PKCS#7 without attributes).
    check.intact = verifyBareDigest(certificate.publicKey, digestName, contentDigest, signer.signature, problems);
    if (!check.intact && !problems.some((problem) => problem.startsWith('unsupported'))) {
      problems.push('digest_mismatch: the signed content was changed, or the signature does not verify with the signer certificate');
    }
  }
  check.timestamp = checkSignatureTimestamp(signer, problems);
  const contentTimestamp = signer.signedAttributes.find((attribute) => attribute.type === ID_AA_CONTENT_TIME_STAMP)?.valuesEncoded[0];
  if (contentTimestamp) check.contentTimestamp = checkTimestampToken(contentTimestamp, (name) => content.digest(name), 'content time-stamp', problems);
  return check;
}

/** The messageDigest attribute's octets (a primitive OCTET STRING read from its encoding, as nearly every signer writes it; else parsed). */
export function messageDigestOf(signer: CmsSignerInfo): Buffer | undefined {
  const attribute = signer.signedAttributes.find((candidate) => candidate.type === ID_MESSAGE_DIGEST);
  const encoded = attribute?.valuesEncoded[0];
  if (!encoded) return undefined;
  if (encoded[0] === 0x04 && encoded[1]! < 0x80 && encoded.length === 2 + encoded[1]!) return encoded.subarray(2);
  const value = attribute.values[0];
  return value instanceof asn1js.OctetString ? octets(value) : undefined;
}

/**
 * The certificate sid names; `unreadable` when the CMS carries it (sid matches its bytes) but it does
 * not parse — a certificate that is not DER (an INTEGER with illegal padding, say), which OpenSSL and
 * BouncyCastle refuse as well: the signature is then malformed, not merely unattributed.
 */
function findCertificate(certificates: Buffer[], sid: Buffer): { certificate?: X509Certificate; unreadable?: boolean } {
  for (const der of certificates) {
    let named = false;
    try {
      named = identifies(sid, der);
      if (named) return { certificate: parsedCertificate(der) };
    } catch {
      if (named) return { unreadable: true };
      // A certificate that cannot even be compared is not the signer's.
    }
  }
  return {};
}

/** sid: IssuerAndSerialNumber (compared byte for byte) or [0] SubjectKeyIdentifier. */
function identifies(sid: Buffer, certificateDer: Buffer): boolean {
  if (sid[0] === 0x80) return subjectKeyIdentifier(certificateDer)?.equals(sid.subarray(2)) ?? false;
  return isIssuerAndSerialOf(sid, certificateDer);
}

/** The subjectKeyIdentifier extension's key identifier (RFC 5280 §4.2.1.2), if present. */
function subjectKeyIdentifier(certificateDer: Buffer): Buffer | undefined {
  const parsed = asn1js.fromBER(certificateDer);
  const tbs = elementsOf(elementsOf(parsed.result, 'Certificate')[0], 'TBSCertificate');
  const extensions = tbs.find((field) => field.idBlock.tagClass === 3 && field.idBlock.tagNumber === 3);
  if (!extensions) return undefined;
  for (const extension of elementsOf(elementsOf(extensions, 'extensions')[0], 'Extensions')) {
    const fields = elementsOf(extension, 'Extension');
    if (oidOf(fields[0], 'extnID') !== '2.5.29.14') continue;
    const value = fields[fields.length - 1];
    if (!(value instanceof asn1js.OctetString)) return undefined;
    const inner = asn1js.fromBER(octets(value)).result;
    return inner instanceof asn1js.OctetString ? octets(inner) : undefined;
  }
  return undefined;
}

function verifySignatureValue(key: KeyObject, digestName: string, signer: CmsSignerInfo, signedBytes: Buffer, problems: string[]): boolean {
  try {
    if (signer.signatureAlgorithm === RSASSA_PSS) {
      const pss = pssParameters(signer.signatureParameters);
      return verify(pss.hash, signedBytes, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength }, signer.signature);
    }
    if (key.asymmetricKeyType === 'rsa') return verify(digestName, signedBytes, key, signer.signature);
    if (key.asymmetricKeyType === 'ec') return verify(digestName, signedBytes, { key, dsaEncoding: 'der' }, signer.signature);
    problems.push(`unsupported_algorithm: ${key.asymmetricKeyType ?? 'unknown'} signer keys are not supported`);
  } catch (error) {
    problems.push(`unsupported_algorithm: the signature cannot be checked (${(error as Error).message})`);
  }
  return false;
}

/** RSA PKCS#1 v1.5 over the content's DigestInfo, without signed attributes. */
function verifyBareDigest(key: KeyObject, digestName: string, digest: Buffer, signature: Buffer, problems: string[]): boolean {
  if (key.asymmetricKeyType !== 'rsa') {
    problems.push('unsupported_algorithm: a signature without signed attributes is checked for RSA keys only');
    return false;
  }
  try {
    const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return recovered.equals(Buffer.concat([Buffer.from(digestInfoPrefixes[digestName], 'hex'), digest]));
  } catch {
    return false;
  }
}

/*
 * RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] DEFAULT sha1, maskGenAlgorithm [1] DEFAULT mgf1SHA1,
 *   saltLength [2] DEFAULT 20, trailerField [3] DEFAULT 1 }            -- RFC 4055 §3.1
 */
function pssParameters(encoded: Buffer | undefined): { hash: string; saltLength: number } {
  let hash = 'sha1';
  let saltLength = 20;
  if (encoded) {
    for (const field of elementsOf(asn1js.fromBER(encoded).result, 'RSASSA-PSS-params')) {
      const [inner] = elementsOf(field, 'RSASSA-PSS-params field');
      if (field.idBlock.tagNumber === 0) hash = imprintHashForOid(oidOf(elementsOf(inner, 'hashAlgorithm')[0], 'hashAlgorithm')) ?? hash;
      if (field.idBlock.tagNumber === 2 && inner instanceof asn1js.Integer) saltLength = inner.valueBlock.valueDec;
    }
  }
  return { hash, saltLength };
}

/** X.690 §11.6: a DER SET OF lists its elements in ascending order of their encodings. */
function derSetOf(encodings: Buffer[]): Buffer {
  return tlv(tags.set, ...[...encodings].sort(Buffer.compare));
}

/** ESS signing-certificate v2 (or v1): its first certHash must be the signer certificate's hash. */
function checkEss(signer: CmsSignerInfo, certificate: X509Certificate | undefined, problems: string[]): SignerCheck['essSigningCertificate'] {
  const v2 = attributeValue(signer.signedAttributes, ID_AA_SIGNING_CERTIFICATE_V2);
  const v1 = attributeValue(signer.signedAttributes, ID_AA_SIGNING_CERTIFICATE);
  const value = v2 ?? v1;
  if (!value) return 'none';
  try {
    const [certs] = elementsOf(value, 'SigningCertificate');
    const fields = elementsOf(elementsOf(certs, 'certs')[0], 'ESSCertID');
    let hashName = v2 ? 'sha256' : 'sha1';
    let index = 0;
    if (v2 && fields[0] instanceof asn1js.Sequence) {
      hashName = imprintHashForOid(oidOf(elementsOf(fields[0], 'hashAlgorithm')[0], 'hashAlgorithm')) ?? '';
      index = 1;
    }
    const certHash = fields[index];
    if (!hashName || !(certHash instanceof asn1js.OctetString)) throw new Error('unreadable');
    if (certificate && !createHash(hashName).update(certificate.raw).digest().equals(octets(certHash))) {
      problems.push('signing_certificate_mismatch: the ESS signing-certificate attribute names another certificate than the signer');
    }
  } catch {
    problems.push('signing_certificate_unreadable: the ESS signing-certificate attribute cannot be read');
  }
  return v2 ? 'v2' : 'v1';
}

/** RFC 3161 / EN 319 122-1 §5.3: the token's imprint is the digest of this SignerInfo's signature value. */
function checkSignatureTimestamp(signer: CmsSignerInfo, problems: string[]): SignatureTimestamp | undefined {
  const attribute = signer.unsignedAttributes.find((candidate) => candidate.type === ID_AA_SIGNATURE_TIME_STAMP_TOKEN);
  const tokenDer = attribute?.valuesEncoded[0];
  if (!tokenDer) return undefined;
  return checkTimestampToken(tokenDer, signer.signature, 'signature time-stamp', problems);
}

/** Checks an RFC 3161 token over `imprinted` (its messageImprint must be a digest of these bytes). */
export function checkTimestampToken(tokenDer: Buffer, imprinted: Buffer | ((hash: string) => Buffer), what: string, problems: string[]): SignatureTimestamp | undefined {
  let info;
  try {
    info = parseTimeStampToken(tokenDer);
  } catch (error) {
    problems.push(`timestamp_unreadable: the ${what} cannot be read (${(error as Error).message})`);
    return undefined;
  }
  let certificate: X509Certificate | undefined;
  try {
    certificate = info.tsaCertificateDer ? parsedCertificate(info.tsaCertificateDer) : undefined;
  } catch {
    problems.push(`timestamp_unreadable: the ${what}'s TSA certificate cannot be read`);
    return undefined;
  }
  let intact = true;
  try {
    verifyTimeStampTokenSignature(tokenDer);
  } catch (error) {
    intact = false;
    problems.push(`timestamp_invalid: the ${what}'s own signature does not hold (${(error as Error).message})`);
  }
  const hash = info.messageImprint.hash;
  const expected = hash ? (typeof imprinted === 'function' ? imprinted(hash) : createHash(hash).update(imprinted).digest()) : undefined;
  if (!expected || !expected.equals(info.messageImprint.digest)) {
    intact = false;
    problems.push(`timestamp_mismatch: the ${what} was not made for these bytes (its message imprint differs)`);
  }
  return {
    genTime: info.genTime,
    tsa: certificate ? oneLine(certificate.subject) : 'unknown (the token does not carry the TSA certificate)',
    intact,
    certificate,
    certificatesDer: info.certificatesDer,
  };
}

function readTime(value: asn1js.AsnType | undefined): Date | undefined {
  if (value instanceof asn1js.UTCTime || value instanceof asn1js.GeneralizedTime) return value.toDate();
  return undefined;
}

/** X509Certificate.subject is one attribute per line; answers `CN=…, O=…`. */
export function oneLine(distinguishedName: string): string {
  return distinguishedName.split('\n').filter(Boolean).join(', ');
}
