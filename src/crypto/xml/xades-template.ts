import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { sequence, tags, tlv } from '../cms/der.js';
import { readIssuerAndSerial } from '../cms/tbs-certificate.js';
import type { Signer } from '../keys/signer.js';
import { DS_NAMESPACE, XADES141_NAMESPACE, XADES_NAMESPACE, XADES_SIGNED_PROPERTIES_TYPE, XPATH_FILTER2_NAMESPACE, algorithms } from './xml-constants.js';

/**
 * The text of an enveloped XAdES signature (ETSI EN 319 132-1 V1.2.1, baseline B-B / B-T of
 * EN 319 132-1 §6), written without white space between elements so that what we insert is exactly what
 * the verifier canonicalizes, and with only ASCII characters so it can go into a document of any
 * supported encoding unchanged.
 *
 *   <ds:Signature Id>
 *     <ds:SignedInfo> exc-c14n, rsa-sha256 | ecdsa-sha256,
 *       Reference Id="r-…" URI="" (or "#xpointer(/)" with comments): transform, exc-c14n, sha256
 *       Reference Type="…#SignedProperties" URI="#xades-…": exc-c14n, sha256
 *     <ds:SignatureValue Id>
 *     <ds:KeyInfo><ds:X509Data> signing certificate, then its chain
 *     <ds:Object><xades:QualifyingProperties Target>
 *       <xades:SignedProperties Id>
 *         SignedSignatureProperties: SigningTime, SigningCertificateV2 (§5.2.2)
 *         SignedDataObjectProperties: DataObjectFormat (MimeType) for the document reference (§5.2.4)
 *       [<xades:UnsignedProperties> SignatureTimeStamp (§5.3) — B-T]
 */

export type XadesTransform = 'ENVELOPED' | 'XPATH' | 'XPATH2_FILTER';
export type XadesCanonicalization = 'EXCLUSIVE' | 'EXCLUSIVE_WITH_COMMENTS';

/** What the worker needs to know about the signer; built once per Signer in the main thread. */
export interface XadesSignerProfile {
  keyAlgorithm: Signer['keyAlgorithm'];
  /** `<ds:KeyInfo>…</ds:KeyInfo>` */
  keyInfo: string;
  /** `<xades:SigningCertificateV2>…</xades:SigningCertificateV2>` */
  signingCertificateV2: string;
}

export function buildSignerProfile(signer: Signer): XadesSignerProfile {
  const certificates = [signer.certificateDer, ...signer.chainDer]
    .map((der) => `<ds:X509Certificate>${der.toString('base64')}</ds:X509Certificate>`)
    .join('');
  const certificateDigest = createHash('sha256').update(signer.certificateDer).digest('base64');
  return {
    keyAlgorithm: signer.keyAlgorithm,
    keyInfo: `<ds:KeyInfo><ds:X509Data>${certificates}</ds:X509Data></ds:KeyInfo>`,
    signingCertificateV2:
      '<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>' +
      `<ds:DigestMethod Algorithm="${algorithms.sha256}"/><ds:DigestValue>${certificateDigest}</ds:DigestValue>` +
      `</xades:CertDigest><xades:IssuerSerialV2>${issuerSerialV2(signer.certificateDer)}</xades:IssuerSerialV2>` +
      '</xades:Cert></xades:SigningCertificateV2>',
  };
}

/*
 * EN 319 132-1 §5.2.2: IssuerSerialV2 is the base64 of the DER encoding of IssuerSerial (RFC 5035):
 *
 * IssuerSerial ::= SEQUENCE {
 *     issuer                  GeneralNames,          -- one directoryName [4] holding the issuer Name
 *     serialNumber            CertificateSerialNumber }
 */
function issuerSerialV2(certificateDer: Buffer): string {
  const { issuer, serialNumber } = readIssuerAndSerial(certificateDer);
  return sequence(sequence(tlv(tags.contextConstructed(4), issuer)), serialNumber).toString('base64');
}

export interface SignatureIds {
  signature: string;
  documentReference: string;
  signedProperties: string;
  signatureValue: string;
  signatureTimestamp: string;
  certificateValues: string;
  revocationValues: string;
  archiveTimestamp: string;
  timestampValidationData: string;
}

export function signatureIds(suffix: string): SignatureIds {
  return {
    signature: `id-${suffix}`,
    documentReference: `r-id-${suffix}`,
    signedProperties: `xades-id-${suffix}`,
    signatureValue: `value-id-${suffix}`,
    signatureTimestamp: `ts-id-${suffix}`,
    certificateValues: `cv-id-${suffix}`,
    revocationValues: `rv-id-${suffix}`,
    archiveTimestamp: `ats-id-${suffix}`,
    timestampValidationData: `tsvd-id-${suffix}`,
  };
}

export interface SignatureTextInput {
  ids: SignatureIds;
  profile: XadesSignerProfile;
  transform: XadesTransform;
  canonicalization: XadesCanonicalization;
  signingTime: Date;
  mimeType: string;
  documentDigest: string;
  signedPropertiesDigest: string;
}

/** The signature split around the SignatureValue content and the place of UnsignedProperties. */
export interface SignatureText {
  /** From `<ds:Signature` up to and including the SignatureValue start tag. */
  head: string;
  /** From `</ds:SignatureValue>` up to and including `</xades:SignedProperties>`. */
  middle: string;
  /** `</xades:QualifyingProperties></ds:Object></ds:Signature>` */
  tail: string;
}

export function buildSignatureText(input: SignatureTextInput): SignatureText {
  const { ids, profile } = input;
  const signatureMethod = profile.keyAlgorithm === 'RSA' ? algorithms.rsaSha256 : algorithms.ecdsaSha256;
  const withComments = input.canonicalization === 'EXCLUSIVE_WITH_COMMENTS';
  const documentC14n = withComments ? algorithms.exclusiveC14nWithComments : algorithms.exclusiveC14n;
  // XMLDSig §4.4.3.3: URI="" is the document without comments; "#xpointer(/)" keeps them.
  const documentUri = withComments ? '#xpointer(/)' : '';
  const digestMethod = `<ds:DigestMethod Algorithm="${algorithms.sha256}"/>`;
  const signedInfo =
    '<ds:SignedInfo>' +
    `<ds:CanonicalizationMethod Algorithm="${algorithms.exclusiveC14n}"/>` +
    `<ds:SignatureMethod Algorithm="${signatureMethod}"/>` +
    `<ds:Reference Id="${ids.documentReference}" URI="${documentUri}"><ds:Transforms>` +
    documentTransform(input.transform) +
    `<ds:Transform Algorithm="${documentC14n}"/></ds:Transforms>` +
    `${digestMethod}<ds:DigestValue>${input.documentDigest}</ds:DigestValue></ds:Reference>` +
    `<ds:Reference Type="${XADES_SIGNED_PROPERTIES_TYPE}" URI="#${ids.signedProperties}"><ds:Transforms>` +
    `<ds:Transform Algorithm="${algorithms.exclusiveC14n}"/></ds:Transforms>` +
    `${digestMethod}<ds:DigestValue>${input.signedPropertiesDigest}</ds:DigestValue></ds:Reference>` +
    '</ds:SignedInfo>';
  const signedProperties =
    `<xades:SignedProperties Id="${ids.signedProperties}"><xades:SignedSignatureProperties>` +
    `<xades:SigningTime>${xsdDateTime(input.signingTime)}</xades:SigningTime>${profile.signingCertificateV2}` +
    '</xades:SignedSignatureProperties><xades:SignedDataObjectProperties>' +
    `<xades:DataObjectFormat ObjectReference="#${ids.documentReference}">` +
    `<xades:MimeType>${escapeXmlText(input.mimeType)}</xades:MimeType></xades:DataObjectFormat>` +
    '</xades:SignedDataObjectProperties></xades:SignedProperties>';
  return {
    head:
      `<ds:Signature xmlns:ds="${DS_NAMESPACE}" Id="${ids.signature}">${signedInfo}` +
      `<ds:SignatureValue Id="${ids.signatureValue}">`,
    middle:
      `</ds:SignatureValue>${profile.keyInfo}<ds:Object>` +
      `<xades:QualifyingProperties xmlns:xades="${XADES_NAMESPACE}" Target="#${ids.signature}">${signedProperties}`,
    tail: '</xades:QualifyingProperties></ds:Object></ds:Signature>',
  };
}

function documentTransform(transform: XadesTransform): string {
  switch (transform) {
    case 'ENVELOPED':
      return `<ds:Transform Algorithm="${algorithms.envelopedSignature}"/>`;
    case 'XPATH':
      // XMLDSig §6.6.3: keeps every node that is not inside a ds:Signature (this one and any other).
      return (
        `<ds:Transform Algorithm="${algorithms.xpath}">` +
        '<ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>'
      );
    case 'XPATH2_FILTER':
      return (
        `<ds:Transform Algorithm="${algorithms.xpathFilter2}">` +
        `<dsig-xpath:XPath xmlns:dsig-xpath="${XPATH_FILTER2_NAMESPACE}" Filter="subtract">/descendant::ds:Signature</dsig-xpath:XPath>` +
        '</ds:Transform>'
      );
  }
}

/**
 * The exclusive canonical form of `<ds:SignatureValue Id="…">value</ds:SignatureValue>` as it stands in
 * the signature: the ds binding written on it (its output ancestors are not in the node-set), one
 * attribute whose value (our id) needs no escaping, base64 text that needs none either. EN 319 132-1
 * §5.3 time-stamps this element's canonical form for the SignatureTimeStamp.
 */
export function canonicalSignatureValue(ids: SignatureIds, signatureValueBase64: string): string {
  return `<ds:SignatureValue xmlns:ds="${DS_NAMESPACE}" Id="${ids.signatureValue}">${signatureValueBase64}</ds:SignatureValue>`;
}

/** EN 319 132-1 §5.3 SignatureTimeStamp inside UnsignedSignatureProperties (B-T). */
export function unsignedPropertiesWithTimestamp(ids: SignatureIds, timestampTokenDer: Buffer): string {
  return unsignedProperties([signatureTimeStampElement(ids, timestampTokenDer)]);
}

/** `<xades:UnsignedProperties>` around the given UnsignedSignatureProperties children, in order. */
export function unsignedProperties(children: readonly string[]): string {
  return `<xades:UnsignedProperties><xades:UnsignedSignatureProperties>${children.join('')}</xades:UnsignedSignatureProperties></xades:UnsignedProperties>`;
}

/** EN 319 132-1 §5.3: the signature time-stamp, over the canonical ds:SignatureValue. */
export function signatureTimeStampElement(ids: SignatureIds, timestampTokenDer: Buffer): string {
  return (
    `<xades:SignatureTimeStamp Id="${ids.signatureTimestamp}">` +
    `<ds:CanonicalizationMethod Algorithm="${algorithms.exclusiveC14n}"/>` +
    `<xades:EncapsulatedTimeStamp>${timestampTokenDer.toString('base64')}</xades:EncapsulatedTimeStamp>` +
    '</xades:SignatureTimeStamp>'
  );
}

/** Certificates and revocation data (DER) of B-LT: what a validator needs later without the network. */
export interface XadesValidationValues {
  certificates: Buffer[];
  crls: Buffer[];
  ocsps: Buffer[];
}

/**
 * EN 319 132-1 §5.4.1 CertificateValues and §5.4.2 RevocationValues (B-LT): the certificates of the
 * signer's and the signature time-stamp's chains not already in ds:KeyInfo, and an OCSP response or CRL
 * for each certificate below a root. Empty parts are left out (an empty CertificateValues says nothing).
 */
export function validationValuesElements(ids: SignatureIds, values: XadesValidationValues): string[] {
  const elements: string[] = [];
  if (values.certificates.length > 0) elements.push(`<xades:CertificateValues Id="${ids.certificateValues}">${encapsulatedCertificates(values.certificates)}</xades:CertificateValues>`);
  if (values.crls.length + values.ocsps.length > 0) elements.push(`<xades:RevocationValues Id="${ids.revocationValues}">${revocationContent(values)}</xades:RevocationValues>`);
  return elements;
}

/** EN 319 132-1 §5.5.2 ArchiveTimeStamp (xades141, B-LTA). */
export function archiveTimeStampElement(ids: SignatureIds, timestampTokenDer: Buffer): string {
  return (
    `<xades141:ArchiveTimeStamp xmlns:xades141="${XADES141_NAMESPACE}" Id="${ids.archiveTimestamp}">` +
    `<ds:CanonicalizationMethod Algorithm="${algorithms.exclusiveC14n}"/>` +
    `<xades:EncapsulatedTimeStamp>${timestampTokenDer.toString('base64')}</xades:EncapsulatedTimeStamp>` +
    '</xades141:ArchiveTimeStamp>'
  );
}

/**
 * EN 319 132-1 §5.5.1 TimeStampValidationData (xades141): the validation data of a time-stamp that the
 * properties before it lack — after an ArchiveTimeStamp, its own TSA's chain and revocation data.
 */
export function timeStampValidationDataElement(ids: SignatureIds, values: XadesValidationValues): string {
  const certificates = values.certificates.length > 0 ? `<xades:CertificateValues>${encapsulatedCertificates(values.certificates)}</xades:CertificateValues>` : '';
  const revocation = values.crls.length + values.ocsps.length > 0 ? `<xades:RevocationValues>${revocationContent(values)}</xades:RevocationValues>` : '';
  return `<xades141:TimeStampValidationData xmlns:xades141="${XADES141_NAMESPACE}" Id="${ids.timestampValidationData}">${certificates}${revocation}</xades141:TimeStampValidationData>`;
}

function encapsulatedCertificates(certificates: Buffer[]): string {
  return certificates.map((der) => `<xades:EncapsulatedX509Certificate>${der.toString('base64')}</xades:EncapsulatedX509Certificate>`).join('');
}

function revocationContent(values: XadesValidationValues): string {
  const crls = values.crls.length > 0 ? `<xades:CRLValues>${values.crls.map((der) => `<xades:EncapsulatedCRLValue>${der.toString('base64')}</xades:EncapsulatedCRLValue>`).join('')}</xades:CRLValues>` : '';
  const ocsps = values.ocsps.length > 0 ? `<xades:OCSPValues>${values.ocsps.map((der) => `<xades:EncapsulatedOCSPValue>${der.toString('base64')}</xades:EncapsulatedOCSPValue>`).join('')}</xades:OCSPValues>` : '';
  return crls + ocsps;
}

/** xsd:dateTime in UTC to the second, as DSS writes SigningTime. */
function xsdDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** RFC 6838 type/subtype with optional parameters, printable ASCII only (the signature text is ASCII). */
const mimeTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(?:[\x20-\x7e]*)$/;

function escapeXmlText(text: string): string {
  if (!mimeTypePattern.test(text)) {
    throw new SignetError('invalid_request', `"${text.slice(0, 100)}" is not a MIME type that can be written into the signature`, {
      field: 'contentType',
    });
  }
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
