import type { Hash } from 'node:crypto';
import { ExclusiveCanonicalizer, type ExclusiveC14nOptions } from '../exclusive-c14n.js';
import { DS_NAMESPACE, XPATH_FILTER2_NAMESPACE, algorithms } from '../xml-constants.js';
import { scanXml, type XmlElement } from '../xml-scanner.js';
import { attribute, child, childrenNamed, readSignatureTree, type SignatureTree, type TreeNode } from './signature-tree.js';

/*
 * What an XML signature's ds:Reference covers (XMLDSig §4.4.3): its URI dereferenced — the whole
 * document, one element by a unique Id, or detached data sent beside the signature — and its transforms
 * followed: enveloped-signature, the XPath / XPath Filter 2.0 forms that mean "without signatures",
 * base64, and canonicalization. Strict, because XML Signature Wrapping attacks live in leniency: an Id
 * must be unique, a SignedProperties reference must point into this signature's QualifyingProperties,
 * anything else (XSLT, other XPaths, external URIs without data) is a problem, not a guess. Used by core
 * validation (xml-signatures.ts), archive time-stamps (xades-archive-check.ts) and B-LTA archiving.
 */

export const C14N = {
  inclusive: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  inclusiveWithComments: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  inclusive11: 'http://www.w3.org/2006/12/xml-c14n11',
  inclusive11WithComments: 'http://www.w3.org/2006/12/xml-c14n11#WithComments',
  exclusive: algorithms.exclusiveC14n,
  exclusiveWithComments: algorithms.exclusiveC14nWithComments,
};

export const DIGESTS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};

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

/**
 * The same data for one signature of a document being verified, into a hash: octets as they are
 * (base64, detached data), node-sets canonicalized as their references say. A problem sentence when a
 * reference cannot be followed.
 */
export function hashReferencedData(text: string, tree: SignatureTree, signature: TreeNode, hash: Hash, detached?: Buffer): string | undefined {
  for (const reference of childrenNamed(child(signature, DS_NAMESPACE, 'SignedInfo'), DS_NAMESPACE, 'Reference')) {
    const dereferenced = dereference(tree, signature, reference, undefined, detached);
    if ('problem' in dereferenced) return dereferenced.problem;
    if ('octets' in dereferenced) hash.update(dereferenced.octets(text));
    else scanXml(text, new ExclusiveCanonicalizer({ write: (piece) => hash.update(piece, 'utf8') }, dereferenced.options));
  }
  return undefined;
}

/** What a Reference covers: its URI dereferenced and its transforms as canonicalization options (XMLDSig §4.4.3). */
export function dereference(
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
  let intersected: XmlElement | undefined;
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
    else if (algorithm === algorithms.xpathFilter2 && uri === '' && intersected === undefined && intersectFilterPath(transform)) {
      const found = intersectTarget(tree, signature, transform, name);
      if ('problem' in found) return found;
      intersected = found.element;
    }
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
  if (intersected) {
    // URI="" narrowed by an XPath Filter 2.0 intersect to one element's subtree.
    if (expectedSignedProperties !== undefined && intersected !== expectedSignedProperties?.element) {
      return { problem: `signed_properties_misplaced: ${name} selects a SignedProperties outside this signature's QualifyingProperties — a wrapping attack` };
    }
    options.apex = (element) => element.start === intersected!.start;
    return { digestName, expected, options, coversDocument: intersected === tree.root, name };
  }
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
    if (options.version11 && inheritsXmlBase(target)) return { problem: `unsupported_transform: ${name} is a C14N 1.1 subset under xml:base, whose joining is not done` };
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


export function isCanonicalization(algorithm: string): boolean {
  return Object.values(C14N).includes(algorithm);
}

/** Options for a canonicalization URI; comments only where the algorithm keeps them and the caller allows it. */
export function c14nOptions(algorithm: string, commentsAllowed: boolean): ExclusiveC14nOptions {
  const version11 = algorithm === C14N.inclusive11 || algorithm === C14N.inclusive11WithComments;
  return {
    withComments: commentsAllowed && algorithm.endsWith('#WithComments'),
    inclusive: version11 || algorithm === C14N.inclusive || algorithm === C14N.inclusiveWithComments,
    ...(version11 && { version11 }),
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
 * XPath Filter 2.0 `intersect` with the one expression form real signers write for a XAdES 1.1.1
 * SignedProperties reference: `//*[@Id='…']/p:Child/p:Grandchild…` — an element by its unique Id, then
 * child steps by qualified name. Other expressions are not evaluated (unsupported_transform).
 */
function intersectFilterPath(transform: TreeNode): { id: string; steps: Array<[string, string]> } | undefined {
  const filters = childrenNamed(transform, XPATH_FILTER2_NAMESPACE, 'XPath');
  if (filters.length !== 1 || attribute(filters[0], 'Filter') !== 'intersect') return undefined;
  const match = /^\s*\/\/\*\[@Id='([^']+)'\]((?:\/[\w.-]+:[\w.-]+)*)\s*$/.exec(filters[0]!.text);
  if (!match) return undefined;
  const scope = filters[0]!.element.namespaces;
  const steps = (match[2]!.match(/[\w.-]+:[\w.-]+/g) ?? []).map((step): [string, string] => {
    const [prefix, localName] = step.split(':') as [string, string];
    return [scope[prefix] ?? '', localName];
  });
  return steps.every(([namespaceUri]) => namespaceUri !== '') ? { id: match[1]!, steps } : undefined;
}

function intersectTarget(tree: SignatureTree, signature: TreeNode, transform: TreeNode, name: string): { element: XmlElement } | { problem: string } {
  const { id, steps } = intersectFilterPath(transform)!;
  const found = uniqueTarget(tree, `#${encodeURIComponent(id)}`, name);
  if ('problem' in found) return found;
  // The steps are followed through this signature's own nodes: a target elsewhere is not followed.
  let node = findNode(signature, found.element.start);
  if (!node) return { problem: `unsupported_transform: ${name} filters to an element outside its signature` };
  for (const [namespaceUri, localName] of steps) {
    const matches = childrenNamed(node, namespaceUri, localName);
    if (matches.length !== 1) return { problem: `reference_ambiguous: ${name} selects ${matches.length} ${localName} elements` };
    node = matches[0]!;
  }
  return { element: node.element };
}

function findNode(node: TreeNode, start: number): TreeNode | undefined {
  if (node.element.start === start) return node;
  for (const child of node.children) {
    const found = findNode(child, start);
    if (found) return found;
  }
  return undefined;
}

function inheritsXmlBase(element: XmlElement): boolean {
  for (let ancestor = element.parent; ancestor; ancestor = ancestor.parent) {
    if (ancestor.attributes.some((attribute) => attribute.qname === 'xml:base')) return true;
  }
  return false;
}

/** Base64 content; `strict` refuses anything but the base64 alphabet (white space aside). */
export function base64(text: string, strict = false): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (strict && !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new TypeError('not base64');
  return Buffer.from(compact, 'base64');
}
