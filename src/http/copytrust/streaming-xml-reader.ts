import { StringDecoder } from 'node:string_decoder';
import { SignetError } from '../../errors/signet-error.js';

/**
 * A push-mode, namespace-aware XML reader for SOAP envelopes: bytes go in as they arrive, events come
 * out, and character data is handed on in pieces — never gathered — so a 200 MB base64 `FileData`
 * passes through in chunk-sized strings. (crypto/xml/xml-scanner.ts reads a whole document held in
 * memory, which is right for signing and wrong for an upload.)
 *
 * Safety as for XAdES input: a document type declaration is refused the moment `<!D` is seen, so no
 * entity is ever declared and the only references are the five predefined ones and character
 * references; depth, element count and the length of any single piece of markup are bounded; only
 * UTF-8 is read. Every problem is an `invalid_envelope` error with the byte-independent position
 * (characters read so far), and the reader never recurses.
 */

export interface XmlName {
  namespaceUri: string;
  localName: string;
}

export interface XmlAttributeValue extends XmlName {
  value: string;
}

export interface StreamingXmlHandler {
  startElement(name: XmlName, attributes: readonly XmlAttributeValue[], depth: number): void;
  /** Character data inside the document element, references replaced; called with pieces. */
  text(piece: string, depth: number): void;
  endElement(name: XmlName, depth: number): void;
}

export interface StreamingXmlLimits {
  maxDepth: number;
  maxElements: number;
  /** The longest start tag, comment, CDATA section or processing instruction. */
  maxMarkupLength: number;
}

export const envelopeLimits: StreamingXmlLimits = { maxDepth: 64, maxElements: 10_000, maxMarkupLength: 256 * 1024 };

type Scope = Record<string, string>;

interface OpenElement {
  qname: string;
  name: XmlName;
  scope: Scope;
}

const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const namePattern = /^[\p{L}_][\p{L}\p{N}_.\-\u00B7\u0300-\u036F\u203F-\u2040]*(?::[\p{L}_][\p{L}\p{N}_.\-\u00B7\u0300-\u036F\u203F-\u2040]*)?$/u;
const attributePattern = /[\x20\t\r\n]*([^\x20\t\r\n=/>]+)[\x20\t\r\n]*=[\x20\t\r\n]*(?:"([^"]*)"|'([^']*)')/y;
const forbiddenCharacter = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const predefined: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
/** A SOAP element has a handful; namespace declarations included. */
const MAX_ATTRIBUTES = 256;
/** U+FFFD as UTF-8: in the text but not in the bytes, it is the decoder's mark of bytes that are not UTF-8. */
const REPLACEMENT_CHARACTER = Buffer.from('\uFFFD');
/** `&#x10FFFF;` is the longest reference the reader accepts. */
const MAX_REFERENCE_LENGTH = 10;

export class StreamingXmlReader {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private consumed = 0;
  private readonly open: OpenElement[] = [];
  private elements = 0;
  private rootClosed = false;
  private started = false;
  /**
   * Markup begun but not finished by the bytes so far: its pieces are kept as they came and only the
   * new ones are scanned for its end (with the quote a tag's scan was in, or the last characters
   * before them where a terminator may start), so a sender trickling a long tag costs linear time.
   */
  private unfinished?: { kind: 'tag' | 'comment' | 'cdata' | 'pi'; pieces: string[]; length: number; quote: number; tail: string };

  constructor(
    private readonly handler: StreamingXmlHandler,
    private readonly limits: StreamingXmlLimits = envelopeLimits,
  ) {}

  write(bytes: Buffer): void {
    const text = this.decoder.write(bytes);
    if (text.includes('\uFFFD') && !bytes.includes(REPLACEMENT_CHARACTER)) throw this.error('the body is not UTF-8');
    this.pending += this.continueMarkup(text);
    if (!this.unfinished) this.drain(false);
  }

  /** The whole document was read: anything unfinished is an error. */
  end(): void {
    this.pending += this.continueMarkup(this.decoder.end());
    if (this.unfinished) throw this.error('the body ends inside a tag');
    this.drain(true);
    if (!this.rootClosed) throw this.error(this.open.length ? `<${this.open.at(-1)!.qname}> is not closed` : 'the body holds no XML element');
  }

  private drain(final: boolean): void {
    let text = this.pending;
    if (!this.started && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.started = true;
    }
    let pos = 0;
    while (pos < text.length) {
      if (text.charCodeAt(pos) !== 0x3c /* < */) {
        const lt = text.indexOf('<', pos);
        let end = lt === -1 ? text.length : lt;
        if (lt === -1 && !final) {
          // A reference cut by the chunk boundary waits for the rest.
          const amp = text.lastIndexOf('&', end - 1);
          if (amp >= pos && text.indexOf(';', amp) === -1) {
            if (end - amp > MAX_REFERENCE_LENGTH) throw this.error('an entity reference is not terminated by ";"');
            end = amp;
          }
        }
        if (end > pos) this.characters(text.slice(pos, end), pos);
        pos = end;
        if (lt === -1) break;
        continue;
      }
      const markupEnd = this.markupEnd(text, pos);
      if (markupEnd === -1) {
        if (final) throw this.error('the body ends inside a tag', pos);
        this.beginUnfinished(text.slice(pos));
        if (this.unfinished) {
          this.consumed += pos;
          this.pending = '';
          return;
        }
        break;
      }
      this.markup(text.slice(pos, markupEnd), pos);
      pos = markupEnd;
    }
    this.consumed += pos;
    this.pending = text.slice(pos);
  }

  /** Index just after the markup that starts at `pos`, or -1 when it is not complete yet. */
  private markupEnd(text: string, pos: number): number {
    const next = text.charCodeAt(pos + 1);
    if (next === 0x21 /* ! */) {
      if (text.startsWith('<!--', pos)) return endAfter(text, '-->', pos + 4);
      if (text.startsWith('<![CDATA[', pos)) return endAfter(text, ']]>', pos + 9);
      const head = text.slice(pos, pos + 9);
      if ('<!--'.startsWith(head) || '<![CDATA['.startsWith(head)) return -1;
      throw this.error('a document type declaration (DTD) or entity declaration is not accepted', pos);
    }
    if (next === 0x3f /* ? */) return endAfter(text, '?>', pos + 2);
    if (Number.isNaN(next)) return -1;
    const end = this.tagEnd(text, pos + 1, 0);
    return end.at;
  }

  /** Where a tag's `>` is, scanning from `from` in the quote state `quote` ('<' outside quotes is an error). */
  private tagEnd(text: string, from: number, quote: number): { at: number; quote: number } {
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) {
        quote = c;
      } else if (c === 0x3e /* > */) {
        return { at: i + 1, quote: 0 };
      } else if (c === 0x3c) {
        throw this.error('"<" inside a tag', i);
      }
    }
    return { at: -1, quote };
  }

  /**
   * Markup cut by the end of the bytes so far. Once its kind is known it is kept as pieces (see
   * `unfinished`); the few characters that do not tell a comment from a CDATA section yet stay in
   * `pending` and are looked at again.
   */
  private beginUnfinished(start: string): void {
    if (start.length > this.limits.maxMarkupLength) throw this.error(`a tag or other markup is longer than ${this.limits.maxMarkupLength} characters`);
    const kind = start.startsWith('<!--') ? 'comment' : start.startsWith('<![CDATA[') ? 'cdata' : start.startsWith('<?') ? 'pi' : start.startsWith('<!') || start.length < 2 ? undefined : 'tag';
    if (!kind) return;
    const quote = kind === 'tag' ? this.tagEnd(start, 1, 0).quote : 0;
    this.unfinished = { kind, pieces: [start], length: start.length, quote, tail: start.slice(-2) };
  }

  /** New text while markup is unfinished: what follows the markup once it is complete (and handled), else ''. */
  private continueMarkup(text: string): string {
    const open = this.unfinished;
    if (!open || text === '') return text;
    let end: number;
    if (open.kind === 'tag') {
      const found = this.tagEnd(text, 0, open.quote);
      open.quote = found.quote;
      end = found.at;
    } else {
      const terminator = open.kind === 'comment' ? '-->' : open.kind === 'cdata' ? ']]>' : '?>';
      const joined = open.tail + text;
      const at = joined.indexOf(terminator);
      end = at === -1 ? -1 : at + terminator.length - open.tail.length;
      open.tail = joined.slice(-2);
    }
    if (end === -1) {
      open.pieces.push(text);
      open.length += text.length;
      if (open.length > this.limits.maxMarkupLength) throw this.error(`a tag or other markup is longer than ${this.limits.maxMarkupLength} characters`);
      return '';
    }
    open.pieces.push(text.slice(0, end));
    this.unfinished = undefined;
    const markup = open.pieces.join('');
    this.markup(markup, 0);
    this.consumed += markup.length;
    return text.slice(end);
  }

  private markup(markup: string, pos: number): void {
    if (forbiddenCharacter.test(markup)) throw this.error('a character that XML does not allow', pos);
    if (markup.startsWith('<!--')) return;
    if (markup.startsWith('<![CDATA[')) {
      if (!this.open.length) throw this.error('a CDATA section outside the document element', pos);
      this.handler.text(markup.slice(9, -3), this.open.length);
      return;
    }
    if (markup.startsWith('<?')) {
      const declaration = /^<\?xml[\x20\t\r\n]/.test(markup);
      if (declaration) {
        if (this.consumed + pos !== 0) throw this.error('the XML declaration must come first', pos);
        const encoding = /encoding[\x20\t\r\n]*=[\x20\t\r\n]*["']([^"']*)["']/.exec(markup)?.[1];
        if (encoding && !/^utf-?8$/i.test(encoding)) throw this.error(`only UTF-8 is accepted, not ${encoding}`, pos);
      }
      return;
    }
    if (markup.startsWith('</')) return this.endTag(markup, pos);
    this.startTag(markup, pos);
  }

  private startTag(markup: string, pos: number): void {
    if (this.rootClosed) throw this.error('a second document element', pos);
    const selfClosing = markup.endsWith('/>');
    const inner = markup.slice(1, selfClosing ? -2 : -1);
    const nameEnd = inner.search(/[\x20\t\r\n]|$/);
    const qname = inner.slice(0, nameEnd);
    if (!namePattern.test(qname)) throw this.error(`"${qname.slice(0, 40)}" is not an element name`, pos);
    if (this.open.length >= this.limits.maxDepth) throw this.error(`elements nest deeper than ${this.limits.maxDepth}`, pos);
    if (++this.elements > this.limits.maxElements) throw this.error(`more than ${this.limits.maxElements} elements`, pos);

    const parentScope = this.open.at(-1)?.scope ?? rootScope();
    let scope = parentScope;
    const raw: Array<[string, string]> = [];
    const seen = new Set<string>();
    attributePattern.lastIndex = nameEnd;
    while (attributePattern.lastIndex < inner.length) {
      const at = attributePattern.lastIndex;
      const match = attributePattern.exec(inner);
      if (!match) {
        if (/^[\x20\t\r\n]*$/.test(inner.slice(at))) break;
        throw this.error(`<${qname}> has a malformed attribute`, pos);
      }
      const [, attributeName, double, single] = match;
      const rawValue = double ?? single ?? '';
      if (rawValue.includes('<')) throw this.error(`<${qname}> has "<" in an attribute value`, pos);
      // White space is normalized before references are replaced: &#10; stays a line feed (XML 1.0 §3.3.3).
      const value = this.replaceReferences(normalizeAttribute(rawValue), pos);
      if (seen.has(attributeName)) throw this.error(`<${qname}> repeats the attribute ${attributeName}`, pos);
      seen.add(attributeName);
      if (seen.size > MAX_ATTRIBUTES) throw this.error(`<${qname}> has more than ${MAX_ATTRIBUTES} attributes`, pos);
      if (attributeName === 'xmlns' || attributeName.startsWith('xmlns:')) {
        if (scope === parentScope) scope = Object.create(parentScope) as Scope;
        scope[attributeName === 'xmlns' ? '' : attributeName.slice(6)] = value;
      } else {
        if (!namePattern.test(attributeName)) throw this.error(`"${attributeName.slice(0, 40)}" is not an attribute name`, pos);
        raw.push([attributeName, value]);
      }
    }
    const name = this.resolve(qname, scope, true, pos);
    const attributes = raw.map(([attributeName, value]) => ({ ...this.resolve(attributeName, scope, false, pos), value }));
    const expanded = new Set(attributes.map((attribute) => `${attribute.namespaceUri} ${attribute.localName}`));
    if (expanded.size !== attributes.length) throw this.error(`<${qname}> has two attributes with the same namespace and name`, pos);
    this.open.push({ qname, name, scope });
    this.handler.startElement(name, attributes, this.open.length);
    if (selfClosing) this.close();
  }

  private endTag(markup: string, pos: number): void {
    const qname = markup.slice(2, -1).trimEnd();
    const current = this.open.at(-1);
    if (!current) throw this.error(`</${qname}> closes nothing`, pos);
    if (current.qname !== qname) throw this.error(`</${qname}> where </${current.qname}> was expected`, pos);
    this.close();
  }

  private close(): void {
    const current = this.open.pop()!;
    this.handler.endElement(current.name, this.open.length + 1);
    if (this.open.length === 0) this.rootClosed = true;
  }

  private characters(raw: string, pos: number): void {
    if (forbiddenCharacter.test(raw)) throw this.error('a character that XML does not allow', pos);
    if (!this.open.length) {
      if (!/^[\x20\t\r\n]*$/.test(raw)) throw this.error('text outside the document element', pos);
      return;
    }
    this.handler.text(raw.includes('&') ? this.replaceReferences(raw, pos) : raw, this.open.length);
  }

  private replaceReferences(raw: string, pos: number): string {
    return raw.replace(/&([^;&]*);?/g, (whole, reference: string) => {
      if (!whole.endsWith(';')) throw this.error('an entity reference is not terminated by ";"', pos);
      if (reference in predefined) return predefined[reference];
      const code = /^#x[0-9a-fA-F]{1,6}$/.test(reference)
        ? Number.parseInt(reference.slice(2), 16)
        : /^#[0-9]{1,7}$/.test(reference)
          ? Number.parseInt(reference.slice(1), 10)
          : undefined;
      if (code === undefined) throw this.error(`the entity &${reference.slice(0, 20)}; is not declared (DTDs are not accepted)`, pos);
      const isXmlChar = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
      if (!isXmlChar) throw this.error(`&${reference}; is not a character XML allows`, pos);
      return String.fromCodePoint(code);
    });
  }

  private resolve(qname: string, scope: Scope, isElement: boolean, pos: number): XmlName {
    const colon = qname.indexOf(':');
    if (colon === -1) return { namespaceUri: isElement ? (scope[''] ?? '') : '', localName: qname };
    const prefix = qname.slice(0, colon);
    const namespaceUri = scope[prefix];
    if (!namespaceUri) throw this.error(`the prefix "${prefix}" is not declared`, pos);
    return { namespaceUri, localName: qname.slice(colon + 1) };
  }

  private error(problem: string, pos = 0): SignetError {
    return new SignetError('invalid_envelope', `The SOAP envelope is not well-formed XML (near character ${this.consumed + pos}): ${problem}`);
  }
}

function rootScope(): Scope {
  const scope: Scope = Object.create(null);
  scope.xml = XML_NAMESPACE;
  return scope;
}

function endAfter(text: string, terminator: string, from: number): number {
  const at = text.indexOf(terminator, from);
  return at === -1 ? -1 : at + terminator.length;
}

function normalizeAttribute(value: string): string {
  return value.replace(/[\t\n\r]/g, ' ');
}
