import { SignetError } from '../../errors/signet-error.js';
import { XML_NAMESPACE, XMLNS_NAMESPACE } from './xml-constants.js';

/**
 * A small, non-validating, namespace-aware XML 1.0 reader that streams events to a handler and builds no
 * tree. It reads exactly what a signer needs: elements, attributes (normalized per XML 1.0 §3.3.3),
 * character data (CDATA sections included), comments and processing instructions, with their positions
 * in the decoded text so the caller can splice bytes into the original document.
 *
 * Safety: a document type declaration is refused the moment `<!DOCTYPE` is met, before anything in it is
 * read, so internal entities (billion laughs) and external entities (XXE) can never be expanded; without
 * a DTD the only entity references XML allows are the five predefined ones and character references, and
 * anything else is an error. Nothing recurses, so depth is bounded by memory for the element stack only.
 *
 * Why our own reader: canonicalization needs a pass over every node of the document and @xmldom/xmldom
 * spends most of its time building a DOM we would throw away (DESIGN: xadesjs ~330 ms per 200 KB); a
 * streaming pass that writes the canonical form straight into the hash keeps XAdES at a few ms per 200 KB
 * (bench/xades.ts).
 */

export interface XmlAttribute {
  qname: string;
  prefix: string;
  localName: string;
  /** '' for an attribute without prefix (attributes do not take the default namespace). */
  namespaceUri: string;
  /** Normalized value: references replaced, white space characters turned into spaces (§3.3.3). */
  value: string;
}

/**
 * Namespace bindings in scope, prefix → URI; '' is the default namespace ('' as its value means none).
 * A chain of prototype-linked objects: an element without declarations shares its parent's scope.
 */
export type NamespaceScope = Record<string, string>;

export interface XmlElement {
  qname: string;
  prefix: string;
  localName: string;
  namespaceUri: string;
  /** Attributes without the namespace declarations, in document order. */
  attributes: XmlAttribute[];
  namespaces: NamespaceScope;
  /** Index of the start tag's '<' in the decoded text. */
  start: number;
  /** 1 for the document element. */
  depth: number;
  parent: XmlElement | null;
}

/** Where a comment or processing instruction is: before, inside or after the document element. */
export type DocumentPart = 'prolog' | 'content' | 'epilog';

export interface XmlHandler {
  startElement(element: XmlElement): void;
  /**
   * `end` is the index of the end tag's '<', or of the '/' of an empty-element tag (`<a/>`), in which
   * case `selfClosing` is true.
   */
  endElement(element: XmlElement, end: number, selfClosing: boolean): void;
  /** Character data inside the document element, line ends normalized and references replaced. */
  text(text: string): void;
  comment(text: string, part: DocumentPart): void;
  processingInstruction(target: string, data: string, part: DocumentPart): void;
}

const nameStartChars =
  ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const nameChars = `${nameStartChars}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
/** XML 1.0 (5th ed.) §2.3 Name; characters above U+FFFF (#x10000-#xEFFFF) as surrogate pairs. */
const namePattern = new RegExp(
  `(?:[${nameStartChars}]|[\\uD800-\\uDB7F][\\uDC00-\\uDFFF])(?:[${nameChars}]|[\\uD800-\\uDB7F][\\uDC00-\\uDFFF])*`,
  'y',
);
/**
 * XML 1.0 §2.2 Char, negated: what may never appear. Lone surrogates are not looked for: the strict
 * decoders of xml-encoding.ts never produce them, and character references are checked one by one.
 */
const forbiddenCharacter = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const xmlDeclaration =
  /<\?xml[\x20\t\r\n]+version[\x20\t\r\n]*=[\x20\t\r\n]*(["'])1\.0\1(?:[\x20\t\r\n]+encoding[\x20\t\r\n]*=[\x20\t\r\n]*(["'])[A-Za-z][A-Za-z0-9._-]*\2)?(?:[\x20\t\r\n]+standalone[\x20\t\r\n]*=[\x20\t\r\n]*(["'])(?:yes|no)\3)?[\x20\t\r\n]*\?>/y;
const onlyWhiteSpace = /^[\x20\t\r\n]*$/;
const attributeNeedsNormalizing = /[&\t\n\r]/;
/**
 * Bounds that keep the reader's memory proportional to the document, whatever its shape: each open
 * element and each attribute of one start tag is an object (~100–250 bytes) made from as little as 3–5
 * bytes of input. libxml2 (xmlsec1) refuses nesting deeper than 256 unless told XML_PARSE_HUGE, so a deeper
 * document could not be verified anyway; invoices nest about 10 deep.
 */
export const MAX_ELEMENT_DEPTH = 256;
export const MAX_ATTRIBUTES_PER_ELEMENT = 1024;
const predefinedEntities: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** Reads the whole document, calling `handler` for each event; throws `invalid_xml` with line and column. */
export function scanXml(text: string, handler: XmlHandler): void {
  new Scanner(text, handler).run();
}

/** Line and column (1-based, in characters) of an index in the decoded text. */
export function lineAndColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let newline = text.indexOf('\n'); newline !== -1 && newline < index; newline = text.indexOf('\n', newline + 1)) {
    line++;
    lineStart = newline + 1;
  }
  return { line, column: index - lineStart + 1 };
}

export function xmlError(text: string, index: number, problem: string): SignetError {
  const { line, column } = lineAndColumn(text, index);
  return new SignetError('invalid_xml', `Not well-formed XML at line ${line}, column ${column}: ${problem}`);
}

function rootNamespaceScope(): NamespaceScope {
  const scope: NamespaceScope = Object.create(null);
  scope.xml = XML_NAMESPACE;
  scope[''] = '';
  return scope;
}

class Scanner {
  private pos = 0;
  private current: XmlElement | null = null;
  private rootSeen = false;
  private readonly rootScope = rootNamespaceScope();

  constructor(
    private readonly text: string,
    private readonly handler: XmlHandler,
  ) {}

  run(): void {
    const text = this.text;
    const forbidden = forbiddenCharacter.exec(text);
    if (forbidden) {
      throw this.error(forbidden.index, `character U+${forbidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`);
    }
    if (text.startsWith('<?xml') && isWhiteSpace(text.charCodeAt(5))) this.readXmlDeclaration();
    const length = text.length;
    while (this.pos < length) {
      const lt = text.indexOf('<', this.pos);
      if (lt === -1) {
        this.readCharacterData(this.pos, length);
        this.pos = length;
        break;
      }
      if (lt > this.pos) this.readCharacterData(this.pos, lt);
      this.pos = lt;
      const next = text.charCodeAt(lt + 1);
      if (next === 0x2f /* / */) this.readEndTag();
      else if (next === 0x21 /* ! */) this.readMarkupDeclarationOrSection();
      else if (next === 0x3f /* ? */) this.readProcessingInstruction();
      else this.readStartTag();
    }
    if (this.current) throw this.error(length, `the element <${this.current.qname}> is not closed`);
    if (!this.rootSeen) throw this.error(length, 'the document has no root element');
  }

  private error(index: number, problem: string): SignetError {
    return xmlError(this.text, index, problem);
  }

  private part(): DocumentPart {
    return this.current ? 'content' : this.rootSeen ? 'epilog' : 'prolog';
  }

  private readXmlDeclaration(): void {
    xmlDeclaration.lastIndex = 0;
    const match = xmlDeclaration.exec(this.text);
    if (!match) {
      throw this.error(0, 'the XML declaration is malformed (only version="1.0" with encoding and standalone is read)');
    }
    this.pos = match[0].length;
  }

  private readCharacterData(from: number, to: number): void {
    const raw = this.text.slice(from, to);
    if (!this.current) {
      if (!onlyWhiteSpace.test(raw)) {
        const offset = raw.search(/[^\x20\t\r\n]/);
        throw this.error(from + offset, this.rootSeen ? 'content after the root element' : 'text before the root element');
      }
      return;
    }
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd !== -1) throw this.error(from + cdataEnd, '"]]>" is not allowed in character data');
    if (raw.indexOf('&') === -1 && raw.indexOf('\r') === -1) this.handler.text(raw);
    else this.handler.text(this.replaceReferences(raw, from, false));
  }

  /**
   * Line-end normalization (§2.11) and reference replacement (§4.4) in one pass, so that positions in
   * error messages are exact and a `&#13;` survives as a carriage return while a literal one does not.
   * For attribute values (§3.3.3), literal white space characters also become spaces.
   */
  private replaceReferences(raw: string, base: number, attribute: boolean): string {
    let out = '';
    let copied = 0;
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x0d) {
        out += raw.slice(copied, i) + (attribute ? ' ' : '\n');
        if (raw.charCodeAt(i + 1) === 0x0a) i++;
        copied = i + 1;
      } else if (attribute && (c === 0x0a || c === 0x09)) {
        out += `${raw.slice(copied, i)} `;
        copied = i + 1;
      } else if (c === 0x26 /* & */) {
        const semicolon = raw.indexOf(';', i + 1);
        const name = semicolon === -1 ? '' : raw.slice(i + 1, semicolon);
        out += raw.slice(copied, i) + this.referencedText(name, semicolon !== -1, base + i);
        i = semicolon;
        copied = i + 1;
      }
    }
    return out + raw.slice(copied);
  }

  private referencedText(name: string, terminated: boolean, index: number): string {
    if (terminated && name.charCodeAt(0) === 0x23 /* # */) {
      const hex = name.charCodeAt(1) === 0x78; /* x */
      const digits = name.slice(hex ? 2 : 1);
      const valid = hex ? /^[0-9a-fA-F]{1,8}$/.test(digits) : /^[0-9]{1,10}$/.test(digits);
      const code = valid ? parseInt(digits, hex ? 16 : 10) : -1;
      const isChar =
        code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
        (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
      if (!isChar) throw this.error(index, `"&${name};" does not refer to a character allowed in XML`);
      return String.fromCodePoint(code);
    }
    if (terminated) {
      const predefined = predefinedEntities[name];
      if (predefined !== undefined) return predefined;
      namePattern.lastIndex = 0;
      if (namePattern.exec(name)?.[0] === name) {
        // Without a DTD no other entity can be declared (and a DTD is refused), so this is an error
        // rather than something to resolve.
        throw this.error(index, `the entity "&${name};" is not declared (only &lt; &gt; &amp; &apos; &quot; and character references are allowed)`);
      }
    }
    throw this.error(index, '"&" must start a reference; write a literal ampersand as &amp;');
  }

  private readName(what: string): string {
    namePattern.lastIndex = this.pos;
    const match = namePattern.exec(this.text);
    if (!match) throw this.error(this.pos, `expected ${what}`);
    this.pos += match[0].length;
    return match[0];
  }

  private skipWhiteSpace(): boolean {
    const start = this.pos;
    while (isWhiteSpace(this.text.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  private readStartTag(): void {
    const text = this.text;
    const start = this.pos;
    if (!this.current && this.rootSeen) throw this.error(start, 'a second root element');
    this.pos++;
    const qname = this.readName('an element name after "<"');
    const rawAttributes: Array<{ qname: string; value: string; index: number }> = [];
    let selfClosing = false;
    for (;;) {
      const hadSpace = this.skipWhiteSpace();
      const c = text.charCodeAt(this.pos);
      if (c === 0x3e /* > */) {
        this.pos++;
        break;
      }
      if (c === 0x2f /* / */) {
        if (text.charCodeAt(this.pos + 1) !== 0x3e) throw this.error(this.pos, 'expected "/>"');
        selfClosing = true;
        this.pos += 2;
        break;
      }
      if (Number.isNaN(c)) throw this.error(this.pos, `the start tag <${qname}> is not closed`);
      if (!hadSpace) throw this.error(this.pos, 'expected white space, ">" or "/>" after an attribute');
      const index = this.pos;
      const attributeName = this.readName('an attribute name');
      this.skipWhiteSpace();
      if (text.charCodeAt(this.pos) !== 0x3d /* = */) throw this.error(this.pos, `expected "=" after the attribute ${attributeName}`);
      this.pos++;
      this.skipWhiteSpace();
      const quote = text.charCodeAt(this.pos);
      if (quote !== 0x22 && quote !== 0x27) throw this.error(this.pos, `the value of ${attributeName} must be quoted`);
      const valueEnd = text.indexOf(quote === 0x22 ? '"' : "'", this.pos + 1);
      if (valueEnd === -1) throw this.error(this.pos, `the value of ${attributeName} is not closed`);
      const raw = text.slice(this.pos + 1, valueEnd);
      const lt = raw.indexOf('<');
      if (lt !== -1) throw this.error(this.pos + 1 + lt, `"<" is not allowed in an attribute value`);
      const value = attributeNeedsNormalizing.test(raw) ? this.replaceReferences(raw, this.pos + 1, true) : raw;
      if (rawAttributes.length === MAX_ATTRIBUTES_PER_ELEMENT) {
        throw this.error(index, `more than ${MAX_ATTRIBUTES_PER_ELEMENT} attributes on <${qname}>`);
      }
      rawAttributes.push({ qname: attributeName, value, index });
      this.pos = valueEnd + 1;
    }
    if (this.current && this.current.depth === MAX_ELEMENT_DEPTH) {
      throw this.error(start, `elements are nested more than ${MAX_ELEMENT_DEPTH} deep`);
    }
    const element = this.bindNamespaces(qname, rawAttributes, start);
    this.rootSeen = true;
    this.current = element;
    this.handler.startElement(element);
    if (selfClosing) {
      this.current = element.parent;
      this.handler.endElement(element, this.pos - 2, true);
    }
  }

  /** Namespaces in XML 1.0 (3rd ed.): declarations, prefix binding, unique expanded attribute names. */
  private bindNamespaces(
    qname: string,
    rawAttributes: Array<{ qname: string; value: string; index: number }>,
    start: number,
  ): XmlElement {
    const parent = this.current;
    let namespaces = parent ? parent.namespaces : this.rootScope;
    let declared = false;
    for (const attribute of rawAttributes) {
      const name = attribute.qname;
      if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
      const prefix = name === 'xmlns' ? '' : name.slice(6);
      const uri = attribute.value;
      if (prefix === 'xmlns') throw this.error(attribute.index, 'the prefix "xmlns" cannot be declared');
      if (prefix === 'xml' ? uri !== XML_NAMESPACE : uri === XML_NAMESPACE) {
        throw this.error(attribute.index, 'only the prefix "xml" is bound to the XML namespace');
      }
      if (uri === XMLNS_NAMESPACE) throw this.error(attribute.index, 'no prefix may be bound to the xmlns namespace');
      if (prefix !== '' && uri === '') throw this.error(attribute.index, `the prefix "${prefix}" cannot be undeclared in XML 1.0`);
      if (prefix.includes(':')) throw this.error(attribute.index, `"${name}" is not a valid namespace declaration`);
      if (!declared) {
        namespaces = Object.create(namespaces) as NamespaceScope;
        declared = true;
      }
      if (Object.prototype.hasOwnProperty.call(namespaces, prefix)) {
        throw this.error(attribute.index, `the attribute ${name} appears twice`);
      }
      namespaces[prefix] = uri;
    }

    const [prefix, localName] = this.splitQName(qname, start + 1);
    const namespaceUri = namespaces[prefix];
    if (namespaceUri === undefined) throw this.error(start + 1, `the prefix "${prefix}" of <${qname}> is not declared`);

    const attributes: XmlAttribute[] = [];
    for (const attribute of rawAttributes) {
      const name = attribute.qname;
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      const [attributePrefix, attributeLocalName] = this.splitQName(name, attribute.index);
      let attributeNamespace = '';
      if (attributePrefix !== '') {
        const bound = namespaces[attributePrefix];
        if (bound === undefined) throw this.error(attribute.index, `the prefix "${attributePrefix}" of ${name} is not declared`);
        attributeNamespace = bound;
      }
      attributes.push({ qname: name, prefix: attributePrefix, localName: attributeLocalName, namespaceUri: attributeNamespace, value: attribute.value });
    }
    if (rawAttributes.length > 1) this.checkUniqueAttributes(rawAttributes, attributes, start);

    return {
      qname,
      prefix,
      localName,
      namespaceUri,
      attributes,
      namespaces,
      start,
      depth: parent ? parent.depth + 1 : 1,
      parent,
    };
  }

  private splitQName(qname: string, index: number): [string, string] {
    const colon = qname.indexOf(':');
    if (colon === -1) return ['', qname];
    if (colon === 0 || colon === qname.length - 1 || qname.indexOf(':', colon + 1) !== -1) {
      throw this.error(index, `"${qname}" is not a valid qualified name`);
    }
    return [qname.slice(0, colon), qname.slice(colon + 1)];
  }

  private checkUniqueAttributes(
    rawAttributes: Array<{ qname: string; index: number }>,
    attributes: XmlAttribute[],
    start: number,
  ): void {
    const qnames = new Set<string>();
    for (const attribute of rawAttributes) {
      if (qnames.has(attribute.qname)) throw this.error(attribute.index, `the attribute ${attribute.qname} appears twice`);
      qnames.add(attribute.qname);
    }
    const expandedNames = new Set<string>();
    for (const attribute of attributes) {
      const expanded = `${attribute.namespaceUri} ${attribute.localName}`;
      if (expandedNames.has(expanded)) {
        throw this.error(start, `two attributes named {${attribute.namespaceUri}}${attribute.localName}`);
      }
      expandedNames.add(expanded);
    }
  }

  private readEndTag(): void {
    const start = this.pos;
    const element = this.current;
    // Fast path: the end tag names the open element (a name followed by white space or '>').
    let qname: string;
    if (element && this.text.startsWith(element.qname, start + 2) && !isNameCharAfter(this.text, start + 2 + element.qname.length)) {
      qname = element.qname;
      this.pos = start + 2 + qname.length;
    } else {
      this.pos += 2;
      qname = this.readName('an element name after "</"');
    }
    this.skipWhiteSpace();
    if (this.text.charCodeAt(this.pos) !== 0x3e) throw this.error(this.pos, `expected ">" to close </${qname}`);
    this.pos++;
    if (!element) throw this.error(start, `the end tag </${qname}> has no start tag`);
    if (element.qname !== qname) throw this.error(start, `the end tag </${qname}> does not match <${element.qname}>`);
    this.current = element.parent;
    this.handler.endElement(element, start, false);
  }

  private readMarkupDeclarationOrSection(): void {
    const text = this.text;
    const start = this.pos;
    if (text.startsWith('<!--', start)) {
      const end = text.indexOf('-->', start + 4);
      if (end === -1) throw this.error(start, 'the comment is not closed');
      const content = text.slice(start + 4, end);
      const doubleHyphen = content.indexOf('--');
      if (doubleHyphen !== -1 || content.endsWith('-')) {
        throw this.error(start + 4 + (doubleHyphen === -1 ? content.length - 1 : doubleHyphen), '"--" is not allowed inside a comment');
      }
      this.pos = end + 3;
      this.handler.comment(normalizeLineEnds(content), this.part());
      return;
    }
    if (text.startsWith('<![CDATA[', start)) {
      if (!this.current) throw this.error(start, 'a CDATA section outside the root element');
      const end = text.indexOf(']]>', start + 9);
      if (end === -1) throw this.error(start, 'the CDATA section is not closed');
      this.pos = end + 3;
      this.handler.text(normalizeLineEnds(text.slice(start + 9, end)));
      return;
    }
    if (text.startsWith('<!DOCTYPE', start)) {
      const { line, column } = lineAndColumn(text, start);
      throw new SignetError(
        'invalid_xml',
        `The document has a document type declaration (<!DOCTYPE> at line ${line}, column ${column}); ` +
          'DTDs and entity declarations are refused so that no entity can be expanded or fetched. Send the XML without a DOCTYPE.',
      );
    }
    if (text.startsWith('<!ENTITY', start)) throw this.error(start, 'entity declarations are refused');
    throw this.error(start, 'expected a comment or a CDATA section after "<!"');
  }

  private readProcessingInstruction(): void {
    const start = this.pos;
    this.pos += 2;
    const target = this.readName('a processing instruction target');
    if (target.toLowerCase() === 'xml') {
      throw this.error(start, 'the XML declaration is only allowed at the very start of the document');
    }
    const end = this.text.indexOf('?>', this.pos);
    if (end === -1) throw this.error(start, 'the processing instruction is not closed');
    let data = '';
    if (end > this.pos) {
      if (!this.skipWhiteSpace()) throw this.error(this.pos, 'expected white space after the processing instruction target');
      data = normalizeLineEnds(this.text.slice(Math.min(this.pos, end), end));
    }
    this.pos = end + 2;
    this.handler.processingInstruction(target, data, this.part());
  }
}

/** Whether the character at `index` could continue a name (so a shorter name is not a match). */
function isNameCharAfter(text: string, index: number): boolean {
  const c = text.charCodeAt(index);
  return !(c === 0x3e || c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || Number.isNaN(c));
}

function isWhiteSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function normalizeLineEnds(text: string): string {
  return text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
}
