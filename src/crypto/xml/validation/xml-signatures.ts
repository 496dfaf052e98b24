import { X509Certificate, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { checkTimestampToken, type SignatureTimestamp } from '../../verify/cms-signer-check.js';
import { DigestSink, ExclusiveCanonicalizer, type ExclusiveC14nOptions } from '../exclusive-c14n.js';
import type { RevocationValues } from '../../validation/signature-evidence.js';
import { DS_NAMESPACE, XADES141_NAMESPACE, XADES_NAMESPACE, XADES_SIGNED_PROPERTIES_TYPE, XPATH_FILTER2_NAMESPACE, algorithms } from '../xml-constants.js';
import { decodeXml } from '../xml-encoding.js';
import { scanXml, type XmlElement } from '../xml-scanner.js';
import { attribute, child, childrenNamed, ds, path, readSignatureTree, type SignatureTree, type TreeNode } from './signature-tree.js';

/*
 * Verifying XML signatures (W3C XMLDSig 1.1 core validation, §3.2) and their XAdES properties (ETSI EN
 * 319 132-1): each Reference is dereferenced, transformed and digested, SignedInfo is canonicalized and
 * its SignatureValue checked with the certificate in KeyInfo. Reference processing is strict, because
 * XML Signature Wrapping attacks live in its leniency: an Id must be unique in the document; the
 * SignedProperties a XAdES signature references must be the one inside its own QualifyingProperties;
 * only the transforms that mean "the document without signatures" and the canonicalizations are
 * followed — anything else (XSLT, other XPath expressions, base64, external URIs) is reported and the
 * signature is not called intact.
 */

export interface XmlSignatureFinding {
  format: 'XAdES' | 'XMLDSig';
  level?: 'B-B' | 'B-T' | 'B-LT';
  intact: boolean;
  certificate?: X509Certificate;
  certificatesDer: Buffer[];
  claimedTime?: Date;
  timestamp?: SignatureTimestamp;
  /** XAdES RevocationValues and TimeStampValidationData (EN 319 132-1 §5.4, v1.4.1 §5.5.1). */
  revocation: RevocationValues;
  problems: string[];
}

const C14N = {
  inclusive: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  inclusiveWithComments: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  exclusive: algorithms.exclusiveC14n,
  exclusiveWithComments: algorithms.exclusiveC14nWithComments,
};

const DIGESTS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
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
  const qualifyingAll = childrenNamed(signature, DS_NAMESPACE, 'Object').flatMap((object) => childrenNamed(object, XADES_NAMESPACE, 'QualifyingProperties'));
  const qualifying = qualifyingAll[0];
  const signedProperties = child(qualifying, XADES_NAMESPACE, 'SignedProperties');
  const finding: XmlSignatureFinding = { format: signedProperties ? 'XAdES' : 'XMLDSig', intact: false, certificatesDer: [], revocation: { ocsps: [], crls: [] }, problems };
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
    const isSignedProperties = attribute(reference, 'Type') === XADES_SIGNED_PROPERTIES_TYPE;
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
  if (finding.format === 'XAdES' && finding.intact) finding.level = xadesLevel(text, signature, qualifying, finding);
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

/**
 * Writes the data each ds:Reference of the document's one ds:Signature covers — dereferenced, transformed
 * and canonicalized as for its digest — into `sink`, in SignedInfo order: the first input of an XAdES
 * ArchiveTimeStamp's imprint (EN 319 132-1 §5.5.2.2). Answers a problem sentence when one cannot be followed.
 */
export function writeReferencedData(text: string, sink: { write(piece: string): void }): string | undefined {
  const tree = readSignatureTree(text);
  if (tree.signatures.length !== 1) return 'the document must hold exactly one ds:Signature';
  const signature = tree.signatures[0]!;
  for (const reference of childrenNamed(child(signature, DS_NAMESPACE, 'SignedInfo'), DS_NAMESPACE, 'Reference')) {
    const dereferenced = dereference(tree, signature, reference, undefined);
    if ('problem' in dereferenced) return dereferenced.problem;
    if ('octets' in dereferenced) return `${dereferenced.name} covers octets (base64 or detached data), which archiving does not follow yet`;
    scanXml(text, new ExclusiveCanonicalizer(sink, dereferenced.options));
  }
  return undefined;
}

/** What a Reference covers: its URI dereferenced and its transforms as canonicalization options (XMLDSig §4.4.3). */
function dereference(
  tree: SignatureTree,
  signature: TreeNode,
  reference: TreeNode,
  expectedSignedProperties: TreeNode | null | undefined,
  detached?: Buffer,
): { problem: string } | (ReferenceTarget & ({ options: ExclusiveC14nOptions } | { octets: (text: string) => Buffer })) {
  const uri = attribute(reference, 'URI');
  const name = uri === undefined ? 'a reference without URI' : `reference "${uri}"`;
  const digestName = DIGESTS[attribute(child(reference, DS_NAMESPACE, 'DigestMethod'), 'Algorithm') ?? ''];
  if (!digestName) return { problem: `unsupported_algorithm: the digest method of ${name}` };
  let expected: Buffer;
  try {
    expected = base64(child(reference, DS_NAMESPACE, 'DigestValue')?.text ?? '', true);
  } catch {
    return { problem: `digest_mismatch: the DigestValue of ${name} is not base64` };
  }

  const transforms = childrenNamed(child(reference, DS_NAMESPACE, 'Transforms'), DS_NAMESPACE, 'Transform');
  const external = uri !== undefined && uri !== '' && !uri.startsWith('#');
  if (external) {
    // A detached signature's data: octets as sent (transforms on external data are not followed).
    if (expectedSignedProperties !== undefined) return { problem: `signed_properties_misplaced: ${name} is typed SignedProperties but points outside the document` };
    if (!detached) return { problem: `signed_data_missing: ${name} points to data outside the document, and it was not sent (send it as "file", the signature as "signature")` };
    if (transforms.length > 0) return { problem: `unsupported_transform: ${name} transforms detached data` };
    return { digestName, expected, coversDocument: true, name, octets: () => detached };
  }
  const options: ExclusiveC14nOptions = { withComments: false };
  let excludeSignatures: 'this' | 'all' | undefined;
  let c14n: string | undefined;
  if (transforms.length === 1 && attribute(transforms[0], 'Algorithm') === algorithms.base64) {
    // XMLDSig §6.6.2: the text of the referenced element, base64-decoded, is what was digested.
    const target = uri?.startsWith('#') && !uri.startsWith('#xpointer(') ? uniqueTarget(tree, uri, name) : undefined;
    if (!target || 'problem' in target) return target ?? { problem: `unsupported_transform: ${name} applies base64 to more than one element` };
    return { digestName, expected, coversDocument: target.element === tree.root, name, octets: (text) => base64(textContent(text, target.element)) };
  }
  for (const transform of transforms) {
    const algorithm = attribute(transform, 'Algorithm') ?? '';
    if (c14n !== undefined) return { problem: `unsupported_transform: ${name} transforms after canonicalization` };
    if (algorithm === algorithms.envelopedSignature) excludeSignatures ??= 'this';
    else if (algorithm === algorithms.xpath && isNoSignatureXPath(transform)) excludeSignatures = 'all';
    else if (algorithm === algorithms.xpathFilter2 && isSubtractSignaturesFilter(transform)) excludeSignatures = 'all';
    else if (isCanonicalization(algorithm)) {
      if (child(transform, C14N.exclusive, 'InclusiveNamespaces')) return { problem: `unsupported_transform: ${name} uses an InclusiveNamespaces PrefixList` };
      c14n = algorithm;
    } else return { problem: `unsupported_transform: ${name} uses "${algorithm}", which is not followed` };
  }
  // No canonicalization given: a node-set becomes octets by inclusive C14N 1.0 (XMLDSig §4.4.3.2).
  // Comments stay only for #xpointer(/) with a WithComments algorithm; "" and #id drop them (§4.4.3.3).
  Object.assign(options, c14nOptions(c14n ?? C14N.inclusive, uri === '#xpointer(/)'));
  if (excludeSignatures === 'this') options.exclude = (element) => element.start === signature.element.start;
  if (excludeSignatures === 'all') options.exclude = (element) => element.namespaceUri === DS_NAMESPACE && element.localName === 'Signature';

  let coversDocument = false;
  if (expectedSignedProperties !== undefined && !(uri?.startsWith('#') && !uri.startsWith('#xpointer('))) {
    return { problem: `signed_properties_misplaced: ${name} is typed SignedProperties but does not point to this signature's xades:SignedProperties by its Id` };
  }
  if (uri === '' || uri === '#xpointer(/)') {
    // The whole document (less what the transforms excluded).
    coversDocument = true;
  } else if (uri !== undefined && uri.startsWith('#') && !uri.startsWith('#xpointer(')) {
    const found = uniqueTarget(tree, uri, name);
    if ('problem' in found) return found;
    const target = found.element;
    coversDocument = target === tree.root;
    if (expectedSignedProperties !== undefined && target !== expectedSignedProperties?.element) {
      return {
        problem: `signed_properties_misplaced: ${name} points to a SignedProperties outside this signature's QualifyingProperties — a wrapping attack`,
      };
    }
    options.apex = (element) => element.start === target.start;
  } else {
    return { problem: `unsupported_reference: ${name} is not a same-document reference` };
  }
  return { digestName, expected, options, coversDocument, name };
}

interface ReferenceTarget {
  digestName: string;
  expected: Buffer;
  coversDocument: boolean;
  name: string;
}

/** The one element whose Id a `#id` URI names; two or none is a wrapping attack or an error. */
function uniqueTarget(tree: SignatureTree, uri: string, name: string): { element: XmlElement } | { problem: string } {
  let id: string;
  try {
    id = decodeURIComponent(uri.slice(1));
  } catch {
    return { problem: `unsupported_reference: ${name} is not a valid URI fragment` };
  }
  const targets = tree.ids.get(id) ?? [];
  if (targets.length !== 1) {
    return { problem: `reference_ambiguous: ${targets.length === 0 ? 'no element' : `${targets.length} elements`} carr${targets.length === 1 ? 'ies' : 'y'} the Id "${id}" that ${name} points to` };
  }
  return { element: targets[0]! };
}

/** The character data inside `element` (its XPath string-value), found by scanning the document again. */
function textContent(text: string, element: XmlElement): string {
  let inside = 0;
  let collected = '';
  scanXml(text, {
    startElement: (started) => {
      if (inside > 0 || started.start === element.start) inside++;
    },
    endElement: () => {
      if (inside > 0) inside--;
    },
    text: (piece) => {
      if (inside > 0) collected += piece;
    },
    comment: () => {},
    processingInstruction: () => {},
  });
  return collected;
}

/** XAdES signed properties: the signing certificate they name must be the one that verified. */
function checkSignedProperties(signedProperties: TreeNode, finding: XmlSignatureFinding): void {
  const properties = child(signedProperties, XADES_NAMESPACE, 'SignedSignatureProperties');
  const signingTime = child(properties, XADES_NAMESPACE, 'SigningTime')?.text.trim();
  if (signingTime && !Number.isNaN(Date.parse(signingTime))) finding.claimedTime = new Date(signingTime);
  const signingCertificate = child(properties, XADES_NAMESPACE, 'SigningCertificateV2') ?? child(properties, XADES_NAMESPACE, 'SigningCertificate');
  if (!signingCertificate) {
    finding.problems.push('signing_certificate_unbound: xades:SigningCertificateV2 is missing (EN 319 132-1 §5.2.2)');
    return;
  }
  if (!finding.certificate) return;
  const digests = childrenNamed(signingCertificate, XADES_NAMESPACE, 'Cert').map((cert) => {
    const certDigest = child(cert, XADES_NAMESPACE, 'CertDigest');
    const hash = DIGESTS[attribute(child(certDigest, DS_NAMESPACE, 'DigestMethod'), 'Algorithm') ?? ''];
    const value = child(certDigest, DS_NAMESPACE, 'DigestValue')?.text ?? '';
    return hash ? createHash(hash).update(finding.certificate!.raw).digest().equals(base64(value)) : false;
  });
  if (!digests.some(Boolean)) {
    finding.problems.push('signing_certificate_mismatch: xades:SigningCertificateV2 names another certificate than the one that verifies the signature');
  }
}

/** B-T: a SignatureTimeStamp over the canonical ds:SignatureValue; B-LT: certificate and revocation values too. */
function xadesLevel(text: string, signature: TreeNode, qualifying: TreeNode | undefined, finding: XmlSignatureFinding): XmlSignatureFinding['level'] {
  const unsigned = path(qualifying, [XADES_NAMESPACE, 'UnsignedProperties'], [XADES_NAMESPACE, 'UnsignedSignatureProperties']);
  const signatureTimestamp = child(unsigned, XADES_NAMESPACE, 'SignatureTimeStamp');
  const signatureValue = child(signature, DS_NAMESPACE, 'SignatureValue');
  if (!signatureTimestamp || !signatureValue) return 'B-B';
  const encapsulated = child(signatureTimestamp, XADES_NAMESPACE, 'EncapsulatedTimeStamp');
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
  const longTerm = child(unsigned, XADES_NAMESPACE, 'CertificateValues') && child(unsigned, XADES_NAMESPACE, 'RevocationValues');
  return longTerm ? 'B-LT' : 'B-T';
}

/**
 * The validation data in the unsigned signature properties: xades:CertificateValues and
 * xades:RevocationValues (EN 319 132-1 §5.4.1-2), and xades141:TimeStampValidationData, which holds the
 * same for the time-stamps (§5.5.1). Encapsulated values are base64 DER: certificates, CRLs and
 * OCSPResponses. Unreadable values are skipped.
 */
function validationValues(qualifying: TreeNode | undefined): RevocationValues & { certificates: Buffer[] } {
  const values = { certificates: [] as Buffer[], ocsps: [] as Buffer[], crls: [] as Buffer[] };
  const unsigned = path(qualifying, [XADES_NAMESPACE, 'UnsignedProperties'], [XADES_NAMESPACE, 'UnsignedSignatureProperties']);
  const holders = [unsigned, ...childrenNamed(unsigned, XADES141_NAMESPACE, 'TimeStampValidationData')];
  const encapsulated = (parent: TreeNode | undefined, list: string, item: string) =>
    childrenNamed(child(parent, XADES_NAMESPACE, list), XADES_NAMESPACE, item).flatMap((node) => {
      try {
        return [base64(node.text, true)];
      } catch {
        return [];
      }
    });
  for (const holder of holders) {
    values.certificates.push(...encapsulated(holder, 'CertificateValues', 'EncapsulatedX509Certificate'));
    const revocation = child(holder, XADES_NAMESPACE, 'RevocationValues');
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

function isCanonicalization(algorithm: string): boolean {
  return Object.values(C14N).includes(algorithm);
}

/** Options for a canonicalization URI; comments only where the algorithm keeps them and the caller allows it. */
function c14nOptions(algorithm: string, commentsAllowed: boolean): ExclusiveC14nOptions {
  return {
    withComments: commentsAllowed && algorithm.endsWith('#WithComments'),
    inclusive: algorithm === C14N.inclusive || algorithm === C14N.inclusiveWithComments,
  };
}

/** The XPath of XMLDSig §6.6.3 that means "everything outside ds:Signature elements", with ds bound to XMLDSig. */
function isNoSignatureXPath(transform: TreeNode): boolean {
  const xpath = child(transform, DS_NAMESPACE, 'XPath');
  const match = /^\s*not\s*\(\s*ancestor-or-self::(\w+):Signature\s*\)\s*$/.exec(xpath?.text ?? '');
  return !!match && xpath!.element.namespaces[match[1]] === DS_NAMESPACE;
}

/** XPath Filter 2.0 `subtract` of `/descendant::ds:Signature` (what our XPATH2_FILTER signatures write). */
function isSubtractSignaturesFilter(transform: TreeNode): boolean {
  const filters = childrenNamed(transform, XPATH_FILTER2_NAMESPACE, 'XPath');
  if (filters.length !== 1 || attribute(filters[0], 'Filter') !== 'subtract') return false;
  const match = /^\s*\/descendant::(\w+):Signature\s*$/.exec(filters[0].text);
  return !!match && filters[0].element.namespaces[match[1]] === DS_NAMESPACE;
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

function base64(text: string, strict = false): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (strict && !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new TypeError('not base64');
  return Buffer.from(compact, 'base64');
}
