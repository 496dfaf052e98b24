import { constants, createHash, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import { tags } from '../cms/der.js';
import { childrenOf, contentOf, decodeObjectIdentifier, DerShapeError, encodingOf, expectTag, readWhole } from '../cms/der-reader.js';
import { isIssuerAndSerialOf } from '../cms/tbs-certificate.js';
import { ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA } from '../cms/oids.js';
import { ID_CT_TST_INFO, ID_SHA1, ID_SHA256, ID_SHA384, ID_SHA512, type ImprintHash } from './oids.js';
import { decodeTstInfo } from './tst-info.js';
import { parsedCertificate } from '../cms/parsed-certificates.js';
import { readBer } from '../cms/read-ber.js';

/**
 * Reading RFC 3161 time-stamp tokens from any TSA (TimeStampToken ::= ContentInfo holding SignedData with
 * eContentType id-ct-TSTInfo, RFC 3161 §2.4.2). The CMS envelope is read with asn1js, which takes BER
 * (some TSAs send indefinite lengths or constructed OCTET STRINGs) and keeps every element's original
 * bytes, so certificates and signed attributes are checked exactly as they were signed. TSTInfo itself is
 * DER by definition and read by tst-info.ts.
 *
 * Most tokens (the built-in TSA's among them) are plain DER, and asn1js decodes every certificate inside
 * them down to the last field: 1.7 ms of the 2.5 ms a PAdES-B-T signature cost (bench/batch-http.ts
 * profile). A DER token is therefore walked by hand first, which reads only the envelope; asn1js
 * remains for tokens that are not DER.
 */

export interface TimeStampTokenInfo {
  genTime: Date;
  /** serialNumber as lowercase hex of its minimal two's-complement encoding (as `openssl ts -reply -text` shows it). */
  serial: string;
  serialNumber: bigint;
  policy: string;
  messageImprint: {
    /** The hash algorithm OID. */
    hashAlgorithm: string;
    /** Set when it is SHA-1 or SHA-256/384/512. */
    hash?: ImprintHash;
    digest: Buffer;
  };
  nonce?: bigint;
  accuracyMs?: number;
  /** The TSA (signer) certificate, when the token carries it. */
  tsaCertificateDer?: Buffer;
  /** Every certificate in the token, DER, as carried. */
  certificatesDer: Buffer[];
  /** The TSTInfo DER exactly as signed. */
  tstInfoDer: Buffer;
}

/** The token is not an RFC 3161 time-stamp token, or its signature does not hold. */
export class TimeStampTokenError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TimeStampTokenError';
  }
}

export function parseTimeStampToken(tokenDer: Buffer): TimeStampTokenInfo {
  const token = readToken(tokenDer);
  let tstInfo;
  try {
    tstInfo = decodeTstInfo(token.tstInfoDer);
  } catch (error) {
    throw new TimeStampTokenError(`The token's TSTInfo cannot be read: ${(error as Error).message}`, { cause: error });
  }
  return {
    genTime: tstInfo.genTime,
    serial: tstInfo.serialNumberEncoded.subarray(2).toString('hex'),
    serialNumber: tstInfo.serialNumber,
    policy: tstInfo.policy,
    messageImprint: {
      hashAlgorithm: tstInfo.messageImprint.hashAlgorithm,
      hash: tstInfo.messageImprint.hash,
      digest: Buffer.from(tstInfo.messageImprint.hashedMessage),
    },
    nonce: tstInfo.nonce,
    accuracyMs: tstInfo.accuracyMs,
    tsaCertificateDer: token.signerCertificateDer,
    certificatesDer: token.certificatesDer,
    tstInfoDer: token.tstInfoDer,
  };
}

/**
 * Checks the token's CMS signature (RFC 5652 §5.4, §5.6): the signed attributes say content type
 * id-ct-TSTInfo and carry the digest of the TSTInfo, an ESS signingCertificateV2 (when present) names
 * the signer certificate, and the signature over the attributes verifies with that certificate's key.
 * `certificateDer` is the TSA certificate when the token does not carry it. Whether that certificate is
 * trusted is the caller's question (chain building is not done here).
 */
export function verifyTimeStampTokenSignature(tokenDer: Buffer, certificateDer?: Buffer): void {
  const token = readToken(tokenDer, certificateDer);
  const signer = token.signerInfo;
  const certificate = token.signerCertificateDer;
  if (!certificate) throw new TimeStampTokenError('The TSA certificate is neither in the token nor given');
  if (!signer.signedAttributes) throw new TimeStampTokenError('The token has no signed attributes');
  const digestName = digestNames.get(signer.digestAlgorithm);
  if (!digestName) throw new TimeStampTokenError(`Unsupported digest algorithm ${signer.digestAlgorithm}`);

  const attributes = readAttributes(signer.signedAttributes);
  const contentType = attributes.get(ID_CONTENT_TYPE);
  if (!contentType || contentType[0] !== tags.objectIdentifier || decodeObjectIdentifier(contentType, readWhole(contentType, tags.objectIdentifier, 'contentType')) !== ID_CT_TST_INFO) {
    throw new TimeStampTokenError('The signed contentType attribute is not id-ct-TSTInfo');
  }
  const messageDigest = attributes.get(ID_MESSAGE_DIGEST);
  const expectedDigest = createHash(digestName).update(token.tstInfoDer).digest();
  if (!messageDigest || messageDigest[0] !== tags.octetString || !expectedDigest.equals(contentOf(messageDigest, readWhole(messageDigest, tags.octetString, 'messageDigest')))) {
    throw new TimeStampTokenError('The messageDigest attribute does not match the TSTInfo');
  }
  const essCertHash = readEssCertHashV2(attributes.get(ID_AA_SIGNING_CERTIFICATE_V2));
  if (essCertHash && !createHash(essCertHash.digestName).update(certificate).digest().equals(essCertHash.hash)) {
    throw new TimeStampTokenError('The signingCertificateV2 attribute names another certificate');
  }

  // RFC 5652 §5.4: the signature covers the DER of the attributes with an explicit SET OF tag.
  const signedBytes = Buffer.from(signer.signedAttributes);
  signedBytes[0] = 0x31;
  // Remembered by bytes: a batch of documents carries the same TSA certificate in every token.
  const publicKey = parsedCertificate(certificate).publicKey;
  let valid: boolean;
  if (signer.signatureAlgorithm === RSASSA_PSS) {
    // Qualified TSAs (D-TRUST) sign with RSASSA-PSS, which `openssl ts -verify` cannot check (shared/testdata).
    const pss = readPssParameters(signer.signatureParametersDer && asn1js.fromBER(signer.signatureParametersDer).result);
    valid = verify(pss.hash, signedBytes, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength }, signer.signature);
  } else if (publicKey.asymmetricKeyType === 'rsa') {
    valid = verify(digestName, signedBytes, publicKey, signer.signature);
  } else if (publicKey.asymmetricKeyType === 'ec') {
    valid = verify(digestName, signedBytes, { key: publicKey, dsaEncoding: 'der' }, signer.signature);
  } else {
    throw new TimeStampTokenError(`Unsupported TSA key type ${publicKey.asymmetricKeyType}`);
  }
  if (!valid) throw new TimeStampTokenError('The token signature does not verify with the TSA certificate');
}

/*
 * RSASSA-PSS-params ::= SEQUENCE {                    -- RFC 4055 §3.1 (explicit tags)
 *   hashAlgorithm      [0] HashAlgorithm    DEFAULT sha1Identifier,
 *   maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
 *   saltLength         [2] INTEGER          DEFAULT 20,
 *   trailerField       [3] INTEGER          DEFAULT 1  }
 *
 * Node's verify uses MGF1 with the signature hash, so a different MGF1 hash is refused.
 */
function readPssParameters(parameters: asn1js.AsnType | undefined): { hash: string; saltLength: number } {
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let saltLength = 20;
  for (const field of parameters ? elementsOf(parameters, 'RSASSA-PSS-params') : []) {
    const [inner] = elementsOf(field, 'RSASSA-PSS-params field');
    if (isContext(field, 0)) hash = digestNames.get(oidOf(elementsOf(inner, 'hashAlgorithm')[0])) ?? '';
    else if (isContext(field, 1)) mgfHash = digestNames.get(oidOf(elementsOf(elementsOf(inner, 'maskGenAlgorithm')[1], 'MGF1 hash')[0])) ?? '';
    else if (isContext(field, 2) && inner instanceof asn1js.Integer) saltLength = inner.valueBlock.valueDec;
  }
  if (!hash || hash !== mgfHash) throw new TimeStampTokenError('Unsupported RSASSA-PSS parameters');
  return { hash, saltLength };
}

const RSASSA_PSS = '1.2.840.113549.1.1.10';
const digestNames = new Map([
  [ID_SHA1, 'sha1'],
  [ID_SHA256, 'sha256'],
  [ID_SHA384, 'sha384'],
  [ID_SHA512, 'sha512'],
]);

interface RawSignerInfo {
  sid: Buffer;
  digestAlgorithm: string;
  /** The [0] IMPLICIT signedAttrs element exactly as encoded. */
  signedAttributes?: Buffer;
  signatureAlgorithm: string;
  /** The AlgorithmIdentifier's parameters, as encoded (RSASSA-PSS needs them). */
  signatureParametersDer?: Buffer;
  signature: Buffer;
}

interface RawToken {
  tstInfoDer: Buffer;
  certificatesDer: Buffer[];
  signerInfo: RawSignerInfo;
  signerCertificateDer?: Buffer;
}

function readToken(tokenDer: Buffer, extraCertificateDer?: Buffer): RawToken {
  const fast = readDerToken(tokenDer, extraCertificateDer);
  if (fast) return fast;
  const parsed = readBer(tokenDer);
  if (parsed.offset === -1 || parsed.offset !== tokenDer.length) throw new TimeStampTokenError('The token is not one BER/DER structure');
  const [contentType, content] = elementsOf(parsed.result, 'ContentInfo');
  if (oidOf(contentType) !== ID_SIGNED_DATA || !isContext(content, 0)) throw new TimeStampTokenError('The token is not a CMS SignedData');
  const signedData = elementsOf(elementsOf(content, 'ContentInfo.content')[0], 'SignedData');
  const encapContentInfo = elementsOf(signedData[2], 'EncapsulatedContentInfo');
  if (oidOf(encapContentInfo[0]) !== ID_CT_TST_INFO) throw new TimeStampTokenError('The token does not encapsulate a TSTInfo');
  const eContent = encapContentInfo[1] && isContext(encapContentInfo[1], 0) ? elementsOf(encapContentInfo[1], 'eContent')[0] : undefined;
  if (!(eContent instanceof asn1js.OctetString)) throw new TimeStampTokenError('The token has no TSTInfo content');
  const tstInfoDer = Buffer.from(eContent.getValue());

  const rest = signedData.slice(3);
  const certificatesElement = rest.find((element) => isContext(element, 0));
  const certificatesDer = certificatesElement
    ? elementsOf(certificatesElement, 'certificates').filter((choice) => choice.idBlock.tagClass === 1).map(originalBytes)
    : [];
  const signerInfos = elementsOf(rest[rest.length - 1], 'SignerInfos');
  if (signerInfos.length !== 1) throw new TimeStampTokenError(`A time-stamp token has one signer, this one has ${signerInfos.length}`);
  const signerInfo = readSignerInfo(signerInfos[0]);

  const candidates = extraCertificateDer ? [...certificatesDer, extraCertificateDer] : certificatesDer;
  const signerCertificateDer = candidates.find((certificate) => isIssuerAndSerialOf(signerInfo.sid, certificate));
  return { tstInfoDer, certificatesDer, signerInfo, signerCertificateDer };
}

/*
 * SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL,
 *                           signatureAlgorithm, signature, unsignedAttrs [1] IMPLICIT OPTIONAL }
 */
function readSignerInfo(element: asn1js.AsnType): RawSignerInfo {
  const fields = elementsOf(element, 'SignerInfo');
  let index = 1;
  const sid = originalBytes(fields[index++]);
  const digestAlgorithm = oidOf(elementsOf(fields[index++], 'digestAlgorithm')[0]);
  const signedAttributes = fields[index] && isContext(fields[index], 0) ? originalBytes(fields[index++]) : undefined;
  const [algorithm, signatureParameters] = elementsOf(fields[index++], 'signatureAlgorithm');
  const signature = fields[index];
  if (!(signature instanceof asn1js.OctetString)) throw new TimeStampTokenError('SignerInfo has no signature');
  return {
    sid,
    digestAlgorithm,
    signedAttributes,
    signatureAlgorithm: oidOf(algorithm),
    signatureParametersDer: signatureParameters && originalBytes(signatureParameters),
    signature: Buffer.from(signature.getValue()),
  };
}

/**
 * The same reading as readToken's asn1js path for a token in DER, touching only the envelope. Anything
 * not in the expected DER shape (indefinite lengths, constructed OCTET STRINGs) answers undefined, and
 * the caller falls back to asn1js, which says precisely what is wrong.
 */
function readDerToken(der: Buffer, extraCertificateDer?: Buffer): RawToken | undefined {
  try {
    const contentInfo = childrenOf(der, readWhole(der, tags.sequence, 'ContentInfo'), 'ContentInfo');
    if (decodeObjectIdentifier(der, contentInfo[0]) !== ID_SIGNED_DATA) return undefined;
    const wrapper = expectTag(contentInfo[1], tags.contextConstructed(0), 'content');
    const [signedDataElement] = childrenOf(der, wrapper, 'content');
    const signedData = childrenOf(der, expectTag(signedDataElement, tags.sequence, 'SignedData'), 'SignedData');
    const encap = childrenOf(der, expectTag(signedData[2], tags.sequence, 'EncapsulatedContentInfo'), 'EncapsulatedContentInfo');
    if (decodeObjectIdentifier(der, encap[0]) !== ID_CT_TST_INFO) return undefined;
    const [eContent] = childrenOf(der, expectTag(encap[1], tags.contextConstructed(0), 'eContent'), 'eContent');
    const tstInfoDer = Buffer.from(contentOf(der, expectTag(eContent, tags.octetString, 'eContent')));

    const rest = signedData.slice(3);
    const certificatesElement = rest.find((element) => element.tag === tags.contextConstructed(0));
    const certificatesDer = certificatesElement
      ? childrenOf(der, certificatesElement, 'certificates')
          .filter((choice) => choice.tag === tags.sequence)
          .map((choice) => Buffer.from(encodingOf(der, choice)))
      : [];
    const signerInfos = childrenOf(der, expectTag(rest[rest.length - 1], tags.set, 'SignerInfos'), 'SignerInfos');
    if (signerInfos.length !== 1) return undefined;
    const fields = childrenOf(der, expectTag(signerInfos[0], tags.sequence, 'SignerInfo'), 'SignerInfo');
    let index = 1;
    const sid = Buffer.from(encodingOf(der, fields[index++]));
    const digestAlgorithm = decodeObjectIdentifier(der, childrenOf(der, expectTag(fields[index++], tags.sequence, 'digestAlgorithm'), 'digestAlgorithm')[0]);
    const signedAttributes = fields[index]?.tag === tags.contextConstructed(0) ? Buffer.from(encodingOf(der, fields[index++])) : undefined;
    const [algorithm, parameters] = childrenOf(der, expectTag(fields[index++], tags.sequence, 'signatureAlgorithm'), 'signatureAlgorithm');
    const signature = Buffer.from(contentOf(der, expectTag(fields[index], tags.octetString, 'signature')));
    const signerInfo: RawSignerInfo = {
      sid,
      digestAlgorithm,
      signedAttributes,
      signatureAlgorithm: decodeObjectIdentifier(der, algorithm),
      signatureParametersDer: parameters && Buffer.from(encodingOf(der, parameters)),
      signature,
    };
    const candidates = extraCertificateDer ? [...certificatesDer, extraCertificateDer] : certificatesDer;
    const signerCertificateDer = candidates.find((certificate) => isIssuerAndSerialOf(sid, certificate));
    return { tstInfoDer, certificatesDer, signerInfo, signerCertificateDer };
  } catch (error) {
    if (error instanceof DerShapeError) return undefined;
    throw error;
  }
}

/**
 * The token's signed attributes, each attribute's first value as encoded: walked as DER (a token's
 * attributes always are, in practice: they are signed as DER); a BER encoding is read with asn1js.
 */
function readAttributes(signedAttributes: Buffer): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  try {
    for (const attribute of childrenOf(signedAttributes, readWhole(signedAttributes, tags.contextConstructed(0), 'signedAttrs'), 'signedAttrs')) {
      const [type, set] = childrenOf(signedAttributes, expectTag(attribute, tags.sequence, 'Attribute'), 'Attribute');
      const [first] = childrenOf(signedAttributes, expectTag(set, tags.set, 'AttributeValues'), 'AttributeValues');
      if (first) values.set(decodeObjectIdentifier(signedAttributes, type!), encodingOf(signedAttributes, first));
    }
    return values;
  } catch (error) {
    if (!(error instanceof DerShapeError) && !(error instanceof RangeError)) throw error;
  }
  values.clear();
  const parsed = asn1js.fromBER(signedAttributes);
  for (const attribute of elementsOf(parsed.result, 'signedAttrs')) {
    const [type, set] = elementsOf(attribute, 'Attribute');
    values.set(oidOf(type), originalBytes(elementsOf(set, 'AttributeValues')[0]!));
  }
  return values;
}

/**
 * ESSCertIDv2 of the first certificate in SigningCertificateV2 (RFC 5035 §3), hashAlgorithm DEFAULT sha256:
 * SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }
 * ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
 */
function readEssCertHashV2(value: Buffer | undefined): { digestName: string; hash: Buffer } | undefined {
  if (!value) return undefined;
  try {
    const [certs] = childrenOf(value, readWhole(value, tags.sequence, 'SigningCertificateV2'), 'SigningCertificateV2');
    const [first] = childrenOf(value, expectTag(certs, tags.sequence, 'certs'), 'certs');
    const fields = childrenOf(value, expectTag(first, tags.sequence, 'ESSCertIDv2'), 'ESSCertIDv2');
    let digestName = 'sha256';
    let index = 0;
    if (fields[0]?.tag === tags.sequence) {
      digestName = digestNames.get(decodeObjectIdentifier(value, childrenOf(value, fields[0], 'hashAlgorithm')[0]!)) ?? '';
      index = 1;
    }
    const hash = expectTag(fields[index], tags.octetString, 'certHash');
    if (!digestName) throw new TimeStampTokenError('signingCertificateV2 names an unsupported hash');
    return { digestName, hash: contentOf(value, hash) };
  } catch (error) {
    if (error instanceof TimeStampTokenError) throw error;
    throw new TimeStampTokenError('signingCertificateV2 cannot be read');
  }
}

function elementsOf(element: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  const value = (element as asn1js.Constructed | undefined)?.valueBlock?.value;
  if (!element || !element.idBlock.isConstructed || !Array.isArray(value)) throw new TimeStampTokenError(`${what} is not a constructed element`);
  return value as asn1js.AsnType[];
}

function oidOf(element: asn1js.AsnType | undefined): string {
  if (!(element instanceof asn1js.ObjectIdentifier)) throw new TimeStampTokenError('Expected an OBJECT IDENTIFIER');
  return element.valueBlock.toString();
}

function isContext(element: asn1js.AsnType | undefined, tagNumber: number): boolean {
  return !!element && element.idBlock.tagClass === 3 && element.idBlock.tagNumber === tagNumber;
}

function originalBytes(element: asn1js.AsnType): Buffer {
  return Buffer.from(element.valueBeforeDecodeView);
}
