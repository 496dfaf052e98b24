import { createHash, type Hash } from 'node:crypto';
import type { DocumentPart, NamespaceScope, XmlAttribute, XmlElement, XmlHandler } from './xml-scanner.js';

/**
 * Exclusive XML Canonicalization 1.0 (W3C Recommendation 2002-07-18), without an InclusiveNamespaces
 * PrefixList, over the events of xml-scanner.ts, written straight into a sink (usually a hash) so the
 * canonical form of a large document never exists as a whole.
 *
 * What it implements, by section of the Recommendation and of Canonical XML 1.0 (which it builds on):
 * - C14N §2.1 / §1.1: UTF-8 output, line ends normalized (the scanner), references replaced, CDATA
 *   sections replaced by their text, empty elements written as start/end pairs, attribute values in
 *   double quotes with the §2.3 escapes, text with the §2.3 escapes, no XML declaration, white space
 *   outside the document element dropped, a newline between top-level comments/PIs and the element.
 * - C14N §2.2: namespace declarations first, sorted by prefix (default first), then attributes sorted by
 *   namespace URI and local name (no-namespace attributes first). JavaScript compares UTF-16 code units,
 *   which orders like code points except against characters above U+FFFF; no namespace URI or name in
 *   the documents we sign is affected.
 * - Exc-C14N §3: a namespace binding is written on an element only where it is visibly utilized (the
 *   element's own prefix, or the prefix of one of its attributes) and the nearest output ancestor did not
 *   already write the same binding; xmlns="" is written only when an output ancestor wrote a default
 *   namespace; the xml prefix is never written. xml:* attributes are not inherited (Exc-C14N §3 ¶3).
 * - Document subsets: the whole document minus excluded subtrees (the enveloped-signature transform and
 *   the XPath transforms that remove ds:Signature elements, XMLDSig §6.6.4, §6.6.3, XPath Filter 2.0
 *   subtract), or one element's subtree (a same-document reference to an Id, XMLDSig §4.4.3.3).
 */

export interface CanonicalSink {
  write(text: string): void;
}

export interface ExclusiveC14nOptions {
  /** http://www.w3.org/2001/10/xml-exc-c14n#WithComments when true. */
  withComments: boolean;
  /** Leaves out these elements with everything inside them. */
  exclude?: (element: XmlElement) => boolean;
  /** Canonicalizes only the subtree of the first element this accepts (in document order). */
  apex?: (element: XmlElement) => boolean;
  /**
   * Canonical XML 1.0 (inclusive, http://www.w3.org/TR/2001/REC-xml-c14n-20010315) instead: every
   * namespace binding in scope is written where it differs from the output parent's, and a subset's
   * apex inherits the xml:* attributes of its ancestors (C14N 1.0 §2.4). Signing always writes
   * exclusive c14n; this is for verifying signatures made by others.
   */
  inclusive?: boolean;
  /**
   * Canonical XML 1.1 (http://www.w3.org/2006/12/xml-c14n11), with `inclusive`: as 1.0, except that a
   * subset's apex does not inherit xml:id (§2.4). Inherited xml:base would need URI joining: callers
   * refuse such a subset rather than canonicalize it wrongly.
   */
  version11?: boolean;
}

/** Collects the canonical form into a digest (SHA-256 unless named) in chunks: far fewer native calls than one per node. */
export class DigestSink implements CanonicalSink {
  private readonly hash: Hash;
  private pending = '';

  constructor(algorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length > 32_768) {
      this.hash.update(this.pending, 'utf8');
      this.pending = '';
    }
  }

  digest(): Buffer {
    this.hash.update(this.pending, 'utf8');
    this.pending = '';
    return this.hash.digest();
  }
}

export class StringSink implements CanonicalSink {
  text = '';
  write(text: string): void {
    this.text += text;
  }
}

function emptyRendering(): NamespaceScope {
  const rendered: NamespaceScope = Object.create(null);
  rendered[''] = '';
  return rendered;
}

export class ExclusiveCanonicalizer implements XmlHandler {
  /** Namespace bindings written by the output ancestors, one entry per open output element. */
  private readonly renderedStack: NamespaceScope[] = [];
  private excluded: XmlElement | null = null;
  /** In apex mode: the apex while inside it; null before it and after it. */
  private apexElement: XmlElement | null = null;
  private apexDone = false;
  /** True once the apex (or, in document mode, anything) has been written. */
  found = false;

  constructor(
    private readonly sink: CanonicalSink,
    private readonly options: ExclusiveC14nOptions,
  ) {}

  private outside(): boolean {
    return this.excluded !== null || (this.options.apex !== undefined && this.apexElement === null);
  }

  startElement(element: XmlElement): void {
    if (this.excluded) return;
    let rendered: NamespaceScope;
    if (this.options.apex) {
      if (this.apexElement === null) {
        if (this.apexDone || !this.options.apex(element)) return;
        this.found = true;
        // An apex inside an excluded subtree (a reference into the enveloped ds:Signature) is excluded too.
        if (this.options.exclude && hasAncestor(element, this.options.exclude)) {
          this.apexDone = true;
          return;
        }
        this.apexElement = element;
        rendered = emptyRendering();
      } else {
        rendered = this.renderedStack[this.renderedStack.length - 1];
      }
    } else {
      this.found = true;
      rendered = this.renderedStack.length === 0 ? emptyRendering() : this.renderedStack[this.renderedStack.length - 1];
    }
    if (this.options.exclude?.(element)) {
      if (element === this.apexElement) this.apexElement = null;
      this.excluded = element;
      return;
    }

    let out = `<${element.qname}`;
    const scope = element.namespaces;
    // Visibly utilized prefixes: the element's own and those of its prefixed attributes (not xml).
    let declarations: string[] | null = null;
    const elementPrefix = element.prefix;
    let attributes = element.attributes;
    if (this.options.inclusive) {
      declarations = inScopeChanges(scope, rendered);
      if (element === this.apexElement) attributes = withInheritedXmlAttributes(element, this.options.version11 === true);
    } else {
      if (elementPrefix !== 'xml' && rendered[elementPrefix] !== scope[elementPrefix]) declarations = [elementPrefix];
      for (let i = 0; i < attributes.length; i++) {
        const prefix = attributes[i].prefix;
        if (prefix === '' || prefix === 'xml' || prefix === elementPrefix) continue;
        if (rendered[prefix] === scope[prefix]) continue;
        if (declarations === null) declarations = [prefix];
        else if (!declarations.includes(prefix)) declarations.push(prefix);
      }
    }
    if (declarations !== null) {
      if (declarations.length > 1) declarations.sort();
      rendered = Object.create(rendered) as NamespaceScope;
      for (const prefix of declarations) {
        const uri = scope[prefix];
        rendered[prefix] = uri;
        out += prefix === '' ? ` xmlns="${escapeAttribute(uri)}"` : ` xmlns:${prefix}="${escapeAttribute(uri)}"`;
      }
    }
    if (attributes.length === 1) {
      out += ` ${attributes[0].qname}="${escapeAttribute(attributes[0].value)}"`;
    } else if (attributes.length > 1) {
      for (const attribute of [...attributes].sort(compareAttributes)) {
        out += ` ${attribute.qname}="${escapeAttribute(attribute.value)}"`;
      }
    }
    this.renderedStack.push(rendered);
    this.sink.write(`${out}>`);
  }

  endElement(element: XmlElement): void {
    if (this.excluded) {
      if (this.excluded === element) this.excluded = null;
      return;
    }
    if (this.options.apex && this.apexElement === null) return;
    this.renderedStack.pop();
    this.sink.write(`</${element.qname}>`);
    if (element === this.apexElement) {
      this.apexElement = null;
      this.apexDone = true;
    }
  }

  text(text: string): void {
    if (this.outside()) return;
    this.sink.write(escapeText(text));
  }

  comment(text: string, part: DocumentPart): void {
    if (!this.options.withComments) return;
    this.writeMisc(`<!--${text}-->`, part);
  }

  processingInstruction(target: string, data: string, part: DocumentPart): void {
    this.writeMisc(data === '' ? `<?${target}?>` : `<?${target} ${data}?>`, part);
  }

  private writeMisc(node: string, part: DocumentPart): void {
    if (part === 'content') {
      if (!this.outside()) this.sink.write(node);
    } else if (!this.options.apex) {
      // C14N §2.1: outside the document element, a newline separates each node from the element.
      this.sink.write(part === 'prolog' ? `${node}\n` : `\n${node}`);
    }
  }
}

function hasAncestor(element: XmlElement, matches: (element: XmlElement) => boolean): boolean {
  for (let ancestor = element.parent; ancestor; ancestor = ancestor.parent) if (matches(ancestor)) return true;
  return false;
}

/** Inclusive c14n: every prefix in scope (not xml) whose binding the output parent did not write. */
function inScopeChanges(scope: NamespaceScope, rendered: NamespaceScope): string[] | null {
  const changed: string[] = [];
  for (const prefix in scope) {
    if (prefix === 'xml' || rendered[prefix] === scope[prefix]) continue;
    // xmlns="" only undoes a default namespace the output parent wrote.
    if (prefix === '' && scope[''] === '' && !rendered['']) continue;
    changed.push(prefix);
  }
  return changed.length > 0 ? changed : null;
}

/**
 * C14N 1.0 §2.4: the apex of a subset carries the xml:* attributes of its ancestors it does not set itself;
 * C14N 1.1 §2.4 leaves xml:id out of that inheritance.
 */
function withInheritedXmlAttributes(element: XmlElement, version11: boolean): XmlAttribute[] {
  const attributes = [...element.attributes];
  for (let ancestor = element.parent; ancestor; ancestor = ancestor.parent) {
    for (const attribute of ancestor.attributes) {
      if (version11 && attribute.qname === 'xml:id') continue;
      if (attribute.prefix === 'xml' && !attributes.some((present) => present.qname === attribute.qname)) attributes.push(attribute);
    }
  }
  return attributes;
}

function compareAttributes(a: XmlAttribute, b: XmlAttribute): number {
  if (a.namespaceUri !== b.namespaceUri) return a.namespaceUri < b.namespaceUri ? -1 : 1;
  return a.localName < b.localName ? -1 : a.localName > b.localName ? 1 : 0;
}

const textSpecials = /[&<>\r]/;
const textSpecialsGlobal = /[&<>\r]/g;
const textEscapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };

/** C14N §2.3 text nodes: & < > and carriage return. */
export function escapeText(text: string): string {
  return textSpecials.test(text) ? text.replace(textSpecialsGlobal, (c) => textEscapes[c]) : text;
}

const attributeSpecials = /[&<"\t\n\r]/;
const attributeSpecialsGlobal = /[&<"\t\n\r]/g;
const attributeEscapes: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

/** C14N §2.3 attribute values: & < " and the three white space characters other than space. */
export function escapeAttribute(value: string): string {
  return attributeSpecials.test(value) ? value.replace(attributeSpecialsGlobal, (c) => attributeEscapes[c]) : value;
}
