import { X509Certificate, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { checkTimestampToken, type SignatureTimestamp } from '../../verify/cms-signer-check.js';
import { DigestSink, ExclusiveCanonicalizer, type ExclusiveC14nOptions } from '../exclusive-c14n.js';
import type { RevocationValues } from '../../validation/signature-evidence.js';
import { DS_NAMESPACE, XADES141_NAMESPACE } from '../xml-constants.js';
import { decodeXml } from '../xml-encoding.js';
import { scanXml } from '../xml-scanner.js';
import { attribute, child, childrenNamed, ds, path, readSignatureTree, type SignatureTree, type TreeNode } from './signature-tree.js';
import { C14N, DIGESTS, base64, c14nOptions, dereference, isCanonicalization } from './references.js';
import { checkXadesArchiveTimestamps } from './xades-archive-check.js';
import { SIGNED_PROPERTIES_TYPES, xades, xadesChildren } from './xades-names.js';

/*
 * Verifying XML signatures (W3C XMLDSig 1.1 core validation, §3.2) and their XAdES properties (ETSI EN
 * 319 132-1): each Reference is dereferenced, transformed and digested (references.ts, strict against
 * wrapping attacks), SignedInfo is canonicalized and its SignatureValue checked with the certificate in
 * KeyInfo; the XAdES signing certificate, signature time-stamp, validation data and archive time-stamps
 * (xades-archive-check.ts) give the level.
 */

export interface XmlSignatureFinding {
  format: 'XAdES' | 'XMLDSig';
  level?: 'B-B' | 'B-T' | 'B-LT' | 'B-LTA';
  intact: boolean;
  certificate?: X509Certificate;
  certificatesDer: Buffer[];
  claimedTime?: Date;
  timestamp?: SignatureTimestamp;
  /** xades141:ArchiveTimeStamp tokens, each checked against what it covers (xades-archive-check.ts). */
  archiveTimestamps: SignatureTimestamp[];
  /** XAdES RevocationValues and TimeStampValidationData (EN 319 132-1 §5.4, v1.4.1 §5.5.1). */
  revocation: RevocationValues;
  problems: string[];
}

const SIGNATURE_METHODS: Record<string, { hash: string; key: 'rsa' | 'ec' }> = {
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': { hash: 'sha1', key: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': { hash: 'sha256', key: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': { hash: 'sha384', key: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': { hash: 'sha512', key: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256': { hash: 'sha256', key: 'ec' },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384': { hash: 'sha384', key: 'ec' },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512': { hash: 'sha512', key: 'ec' },
};

/** Each reference and each signature costs a pass over the document: more than these are not followed. */
const MAX_SIGNATURES = 16;
const MAX_REFERENCES = 32;

/** Every ds:Signature of the document, checked; none when it has none (then it is not even parsed). */
/**
 * `detached`: the data a detached signature's external reference (a URI that is not a same-document
 * one, e.g. `invoice.xml`) covers, as octets — the file sent beside the signature.
 */
export function verifyXmlSignatures(bytes: Buffer, detached?: Buffer): XmlSignatureFinding[] {
  const { text } = decodeXml(bytes);
  // Unsigned XML (an invoice someone registered) is not parsed: no XML-DSig namespace, no Signature element.
  if (!text.includes(DS_NAMESPACE) || !/<([\w.-]+:)?Signature[\s/>]/.test(text)) return [];
  const tree = readSignatureTree(text);
  const findings = tree.signatures.slice(0, MAX_SIGNATURES).map((signature) => verifySignature(text, tree, signature, detached));
  if (tree.signatures.length > MAX_SIGNATURES) {
    findings[findings.length - 1].problems.push(`too_many_signatures: the document has ${tree.signatures.length} signatures; the first ${MAX_SIGNATURES} were checked`);
  }
  return findings;
}

function verifySignature(text: string, tree: SignatureTree, signature: TreeNode, detached: Buffer | undefined): XmlSignatureFinding {
  const problems: string[] = [];
  const qualifyingAll = childrenNamed(signature, DS_NAMESPACE, 'Object').flatMap((object) => xadesChildren(object, 'QualifyingProperties'));
  const qualifying = qualifyingAll[0];
  const signedProperties = xades(qualifying, 'SignedProperties');
  const finding: XmlSignatureFinding = { format: signedProperties ? 'XAdES' : 'XMLDSig', intact: false, certificatesDer: [], archiveTimestamps: [], revocation: { ocsps: [], crls: [] }, problems };
  const structure = structureProblem(signature, qualifyingAll);
  if (structure) {
    problems.push(structure);
    return finding;
  }
  const signedInfo = child(signature, DS_NAMESPACE, 'SignedInfo')!;

  const certificates = childrenNamed(path(signature, ds('KeyInfo'), ds('X509Data')), DS_NAMESPACE, 'X509Certificate').flatMap((node) => {
    try {
      const certificate = new X509Certificate(base64(node.text));
      void certificate.publicKey; // a key algorithm Node cannot read throws here, not later
      return [certificate];
    } catch {
      problems.push('certificate_unreadable: a ds:X509Certificate cannot be read');
      return [];
    }
  });
  finding.certificatesDer = certificates.map((certificate) => certificate.raw);

  // Every Reference must hold (XMLDSig §3.2.1); the first that does not ends the check.
  let referencesHold = true;
  let signedPropertiesReferenced = false;
  let coversDocument = false;
  const references = childrenNamed(signedInfo, DS_NAMESPACE, 'Reference');
  if (references.length === 0) {
    problems.push('signature_unreadable: ds:SignedInfo has no ds:Reference');
    referencesHold = false;
  }
  if (references.length > MAX_REFERENCES) {
    problems.push(`unsupported_reference: ${references.length} references; at most ${MAX_REFERENCES} are followed`);
    referencesHold = false;
  }
  for (const reference of references.slice(0, MAX_REFERENCES)) {
    if (!referencesHold) break;
    const isSignedProperties = SIGNED_PROPERTIES_TYPES.has(attribute(reference, 'Type') ?? '');
    const result = checkReference(text, tree, signature, reference, isSignedProperties ? (signedProperties ?? null) : undefined, detached);
    if (result.problem) problems.push(result.problem);
    referencesHold &&= result.holds;
    signedPropertiesReferenced ||= isSignedProperties && result.holds;
    coversDocument ||= !isSignedProperties && result.holds && result.coversDocument === true;
  }
  // An enveloping signature (the document element is the ds:Signature) signs what its references name.
  if (referencesHold && !coversDocument && tree.root !== signature.element) {
    problems.push(
      'partial_coverage: no reference covers the document itself, only elements picked by Id — what a reader sees elsewhere in it is not signed',
    );
  }
  if (signedProperties && !signedPropertiesReferenced) {
    referencesHold = false;
    problems.push('signed_properties_not_signed: no reference covers this signature\'s own xades:SignedProperties (EN 319 132-1 §4.3.2)');
  }

  // SignedInfo → SignatureValue with the KeyInfo certificate (§3.2.2).
  const method = SIGNATURE_METHODS[attribute(child(signedInfo, DS_NAMESPACE, 'SignatureMethod'), 'Algorithm') ?? ''];
  const c14n = attribute(child(signedInfo, DS_NAMESPACE, 'CanonicalizationMethod'), 'Algorithm') ?? '';
  const signatureValue = base64(child(signature, DS_NAMESPACE, 'SignatureValue')?.text ?? '');
  let signatureHolds = false;
  if (!method) problems.push(`unsupported_algorithm: signature method "${attribute(child(signedInfo, DS_NAMESPACE, 'SignatureMethod'), 'Algorithm')}"`);
  else if (!isCanonicalization(c14n)) problems.push(`unsupported_algorithm: canonicalization "${c14n}" of ds:SignedInfo`);
  else {
    const canonical = Buffer.from(canonicalize(text, { ...c14nOptions(c14n, true), apex: (element) => element.start === signedInfo.element.start }), 'utf8');
    const candidates: Array<{ key: KeyObject; certificate?: X509Certificate }> = certificates.map((certificate) => ({ key: certificate.publicKey, certificate }));
    const keyValue = rsaKeyValue(path(signature, ds('KeyInfo'), ds('KeyValue'), ds('RSAKeyValue')), problems);
    if (keyValue) candidates.push({ key: keyValue });
    for (const candidate of candidates) {
      if (candidate.key.asymmetricKeyType !== method.key) continue;
      const key = method.key === 'ec' ? { key: candidate.key, dsaEncoding: 'ieee-p1363' as const } : candidate.key;
      if (verify(method.hash, canonical, key, signatureValue)) {
        finding.certificate = candidate.certificate;
        signatureHolds = true;
        break;
      }
    }
    if (candidates.length === 0) problems.push('signer_certificate_missing: ds:KeyInfo carries neither an X509Certificate nor an RSAKeyValue');
    else if (!signatureHolds) {
      // The certificate KeyInfo names is still the signing certificate: the signature is broken, not unattributed.
      finding.certificate = certificates[0];
      problems.push('signature_invalid: ds:SignatureValue does not verify over ds:SignedInfo with the key in ds:KeyInfo');
    }
    else if (!finding.certificate) problems.push('signer_unidentified: the signature holds with a bare public key (ds:KeyValue); no certificate says whose it is');
  }
  finding.intact = referencesHold && signatureHolds;

  const values = validationValues(qualifying);
  finding.certificatesDer.push(...values.certificates);
  finding.revocation = { ocsps: values.ocsps, crls: values.crls };
  if (signedProperties) checkSignedProperties(signedProperties, finding);
  if (finding.format === 'XAdES' && finding.intact) {
    finding.archiveTimestamps = checkXadesArchiveTimestamps(text, tree, signature, qualifying, problems, detached);
    finding.level = xadesLevel(text, signature, qualifying, finding);
  }
  return finding;
}

/** A Reference: dereference its URI, apply its transforms, compare the digest (XMLDSig §4.4.3). */
/**
 * `expectedSignedProperties`: for a reference typed SignedProperties, this signature's own one (null when
 * it has none); undefined for other references.
 */
function checkReference(
  text: string,
  tree: SignatureTree,
  signature: TreeNode,
  reference: TreeNode,
  expectedSignedProperties: TreeNode | null | undefined,
  detached?: Buffer,
): { holds: boolean; problem?: string; coversDocument?: boolean } {
  const dereferenced = dereference(tree, signature, reference, expectedSignedProperties, detached);
  if ('problem' in dereferenced) return { holds: false, problem: dereferenced.problem };
  const { digestName, expected, coversDocument, name } = dereferenced;
  let digest: Buffer;
  if ('octets' in dereferenced) digest = createHash(digestName).update(dereferenced.octets(text)).digest();
  else {
    const sink = new DigestSink(digestName);
    scanXml(text, new ExclusiveCanonicalizer(sink, dereferenced.options));
    digest = sink.digest();
  }
  if (!digest.equals(expected)) return { holds: false, problem: `digest_mismatch: what ${name} covers was changed after signing` };
  return { holds: true, coversDocument };
}

/** XAdES signed properties: the signing certificate they name must be the one that verified. */
function checkSignedProperties(signedProperties: TreeNode, finding: XmlSignatureFinding): void {
  const properties = xades(signedProperties, 'SignedSignatureProperties');
  const signingTime = xades(properties, 'SigningTime')?.text.trim();
  if (signingTime && !Number.isNaN(Date.parse(signingTime))) finding.claimedTime = new Date(signingTime);
  const signingCertificate = xades(properties, 'SigningCertificateV2') ?? xades(properties, 'SigningCertificate');
  if (!signingCertificate) {
    finding.problems.push('signing_certificate_unbound: xades:SigningCertificateV2 is missing (EN 319 132-1 §5.2.2)');
    return;
  }
  if (!finding.certificate) return;
  const digests = xadesChildren(signingCertificate, 'Cert').map((cert) => {
    const certDigest = xades(cert, 'CertDigest');
    // XAdES 1.1.1 put DigestMethod and DigestValue in its own namespace; later versions use ds:.
    const hash = DIGESTS[attribute(child(certDigest, DS_NAMESPACE, 'DigestMethod') ?? xades(certDigest, 'DigestMethod'), 'Algorithm') ?? ''];
    const value = (child(certDigest, DS_NAMESPACE, 'DigestValue') ?? xades(certDigest, 'DigestValue'))?.text ?? '';
    return hash ? createHash(hash).update(finding.certificate!.raw).digest().equals(base64(value)) : false;
  });
  if (!digests.some(Boolean)) {
    finding.problems.push('signing_certificate_mismatch: xades:SigningCertificateV2 names another certificate than the one that verifies the signature');
  }
}

/** B-T: a SignatureTimeStamp over the canonical ds:SignatureValue; B-LT: certificate and revocation values too. */
function xadesLevel(text: string, signature: TreeNode, qualifying: TreeNode | undefined, finding: XmlSignatureFinding): XmlSignatureFinding['level'] {
  const unsigned = xades(xades(qualifying, 'UnsignedProperties'), 'UnsignedSignatureProperties');
  const signatureTimestamp = xades(unsigned, 'SignatureTimeStamp');
  const signatureValue = child(signature, DS_NAMESPACE, 'SignatureValue');
  if (!signatureTimestamp || !signatureValue) return 'B-B';
  const encapsulated = xades(signatureTimestamp, 'EncapsulatedTimeStamp');
  if (!encapsulated) return 'B-B';
  // EN 319 132-1 §5.3: the canonical form of ds:SignatureValue, by the time-stamp's own canonicalization
  // (inclusive C14N 1.0 when it names none).
  const c14n = attribute(child(signatureTimestamp, DS_NAMESPACE, 'CanonicalizationMethod'), 'Algorithm') ?? C14N.inclusive;
  if (!isCanonicalization(c14n)) {
    finding.problems.push(`unsupported_algorithm: canonicalization "${c14n}" of the signature time-stamp`);
    return 'B-B';
  }
  const canonical = canonicalize(text, { ...c14nOptions(c14n, true), apex: (element) => element.start === signatureValue.element.start });
  finding.timestamp = checkTimestampToken(base64(encapsulated.text), Buffer.from(canonical, 'utf8'), 'signature time-stamp', finding.problems);
  if (!finding.timestamp?.intact) return 'B-B';
  const longTerm = xades(unsigned, 'CertificateValues') && xades(unsigned, 'RevocationValues');
  if (!longTerm) return 'B-T';
  return finding.archiveTimestamps.length > 0 && finding.archiveTimestamps.every((timestamp) => timestamp.intact) ? 'B-LTA' : 'B-LT';
}

/**
 * The validation data in the unsigned signature properties: xades:CertificateValues and
 * xades:RevocationValues (EN 319 132-1 §5.4.1-2), and xades141:TimeStampValidationData, which holds the
 * same for the time-stamps (§5.5.1). Encapsulated values are base64 DER: certificates, CRLs and
 * OCSPResponses. Unreadable values are skipped.
 */
function validationValues(qualifying: TreeNode | undefined): RevocationValues & { certificates: Buffer[] } {
  const values = { certificates: [] as Buffer[], ocsps: [] as Buffer[], crls: [] as Buffer[] };
  const unsigned = xades(xades(qualifying, 'UnsignedProperties'), 'UnsignedSignatureProperties');
  const holders = [unsigned, ...childrenNamed(unsigned, XADES141_NAMESPACE, 'TimeStampValidationData')];
  const encapsulated = (parent: TreeNode | undefined, list: string, item: string) =>
    xadesChildren(xades(parent, list), item).flatMap((node) => {
      try {
        return [base64(node.text, true)];
      } catch {
        return [];
      }
    });
  for (const holder of holders) {
    values.certificates.push(...encapsulated(holder, 'CertificateValues', 'EncapsulatedX509Certificate'));
    const revocation = xades(holder, 'RevocationValues');
    values.crls.push(...encapsulated(revocation, 'CRLValues', 'EncapsulatedCRLValue'));
    values.ocsps.push(...encapsulated(revocation, 'OCSPValues', 'EncapsulatedOCSPValue'));
  }
  return values;
}

/** XMLDSig §4.5.2.2: an RSA public key as base64 Modulus and Exponent. */
function rsaKeyValue(node: TreeNode | undefined, problems: string[]): KeyObject | undefined {
  if (!node) return undefined;
  const part = (name: string) => base64(child(node, DS_NAMESPACE, name)?.text ?? '').toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'RSA', n: part('Modulus'), e: part('Exponent') }, format: 'jwk' });
  } catch {
    problems.push('key_unreadable: ds:RSAKeyValue is not an RSA public key');
    return undefined;
  }
}

function canonicalize(text: string, options: ExclusiveC14nOptions): string {
  let out = '';
  scanXml(text, new ExclusiveCanonicalizer({ write: (piece) => (out += piece) }, options));
  return out;
}

/**
 * XMLDSig §4.1: SignedInfo, SignatureValue, then KeyInfo and Object elements — in that order, each of the
 * first two once (a second SignedInfo or SignatureValue is how wrapping attacks hide the signed one);
 * at most one QualifyingProperties (EN 319 132-1 §4.3.1), whose Target is this signature.
 */
function structureProblem(signature: TreeNode, qualifying: TreeNode[]): string | undefined {
  const names = signature.children.map((node) => (node.element.namespaceUri === DS_NAMESPACE ? node.element.localName : `{${node.element.namespaceUri}}${node.element.localName}`));
  const wellFormed = names[0] === 'SignedInfo' && names[1] === 'SignatureValue' && names.slice(2).every((name, i) => name === 'Object' || (name === 'KeyInfo' && i === 0));
  if (!wellFormed) return `signature_malformed: a ds:Signature holds SignedInfo, SignatureValue, KeyInfo and Object in that order, once each but Object; this one holds ${names.join(', ')}`;
  if (qualifying.length > 1) return 'signature_malformed: the signature has more than one xades:QualifyingProperties';
  const id = attribute(signature, 'Id');
  const target = attribute(qualifying[0], 'Target');
  if (qualifying.length === 1 && (id === undefined || target !== `#${id}`)) {
    return `signature_malformed: xades:QualifyingProperties targets "${target}", not this signature${id === undefined ? ' (which has no Id)' : ` ("#${id}")`}`;
  }
  return undefined;
}
