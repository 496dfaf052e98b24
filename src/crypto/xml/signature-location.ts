import { SignetError } from '../../errors/signet-error.js';
import type { XmlElement } from './xml-scanner.js';

/**
 * `signatureLocation` (Sign'Stash advancedSignatureInfo): an XPath naming the element the enveloped
 * ds:Signature becomes the last child of. We read the subset clients use for UBL and CII — an absolute
 * location path of child steps, each a name test with optional predicates:
 *
 *   /*                                            the document element
 *   /*[local-name()='Invoice']/*[local-name()='UBLExtensions']/*[local-name()='UBLExtension'][1]/…
 *   /ubl:Invoice/ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent
 *   /*[namespace-uri()='urn:…' and local-name()='ExtensionContent']   name() works too
 *
 * Prefixes in name tests are resolved against the namespace declarations in scope at the element of the
 * document (a request has no other place to bind them). As in XPath 1.0, an unprefixed name test matches
 * only elements in no namespace, so `/Invoice` does not select a UBL invoice; the error says what to write
 * instead. When the path selects several elements, the first in document order is used.
 */

type NameTest = { kind: 'any' } | { kind: 'anyInNamespace'; prefix: string } | { kind: 'name'; prefix: string; localName: string };
type Condition = { fn: 'local-name' | 'namespace-uri' | 'name'; value: string };
type Predicate = { kind: 'position'; position: number } | { kind: 'conditions'; conditions: Condition[] };

export interface LocationStep {
  test: NameTest;
  predicates: Predicate[];
}

export interface SignatureLocation {
  source: string;
  steps: LocationStep[];
}

const ncName = /[A-Za-z_\u00C0-\uFFFD][\w.\-\u00B7\u00C0-\uFFFD]*/y;

/** Parses a signatureLocation; an expression outside the subset is `invalid_request` naming the field. */
export function parseSignatureLocation(source: string): SignatureLocation {
  return { source, steps: new LocationParser(source).parse() };
}

class LocationParser {
  private pos = 0;
  constructor(private readonly source: string) {}

  private fail(problem: string): never {
    throw new SignetError(
      'invalid_request',
      `signatureLocation "${this.source}": ${problem} (at character ${this.pos + 1}); supported are absolute paths ` +
        "of child steps such as /*[local-name()='Invoice']/*[local-name()='UBLExtensions'] or /prefix:Name[1]",
      { field: 'signatureLocation' },
    );
  }

  private skipSpace(): void {
    while (/\s/.test(this.source.charAt(this.pos))) this.pos++;
  }

  private accept(token: string): boolean {
    this.skipSpace();
    if (this.source.startsWith(token, this.pos)) {
      this.pos += token.length;
      return true;
    }
    return false;
  }

  private name(): string {
    ncName.lastIndex = this.pos;
    const match = ncName.exec(this.source);
    if (!match) this.fail('expected a name');
    this.pos += match[0].length;
    return match[0];
  }

  parse(): LocationStep[] {
    const steps: LocationStep[] = [];
    this.skipSpace();
    if (this.source.startsWith('//', this.pos)) this.fail('"//" (descendant steps) is not supported');
    while (this.pos < this.source.length) {
      if (!this.accept('/')) this.fail('expected "/"');
      if (this.source.startsWith('/', this.pos)) this.fail('"//" (descendant steps) is not supported');
      this.skipSpace();
      if (this.source.startsWith('child::', this.pos)) this.pos += 'child::'.length;
      steps.push({ test: this.nameTest(), predicates: this.predicates() });
      this.skipSpace();
    }
    if (steps.length === 0) this.fail('an absolute path is required');
    return steps;
  }

  private nameTest(): NameTest {
    if (this.accept('*')) return { kind: 'any' };
    const first = this.name();
    if (this.source.charAt(this.pos) !== ':') return { kind: 'name', prefix: '', localName: first };
    this.pos++;
    if (this.source.charAt(this.pos) === '*') {
      this.pos++;
      return { kind: 'anyInNamespace', prefix: first };
    }
    return { kind: 'name', prefix: first, localName: this.name() };
  }

  private predicates(): Predicate[] {
    const predicates: Predicate[] = [];
    while (this.accept('[')) {
      this.skipSpace();
      const number = /^\d+/.exec(this.source.slice(this.pos));
      if (number) {
        this.pos += number[0].length;
        const position = Number(number[0]);
        if (position < 1) this.fail('positions start at 1');
        predicates.push({ kind: 'position', position });
      } else {
        const conditions = [this.condition()];
        while (this.accept('and')) conditions.push(this.condition());
        predicates.push({ kind: 'conditions', conditions });
      }
      if (!this.accept(']')) this.fail('expected "]"');
    }
    return predicates;
  }

  private condition(): Condition {
    this.skipSpace();
    let fn: Condition['fn'] | undefined;
    for (const candidate of ['local-name', 'namespace-uri', 'name'] as const) {
      if (this.source.startsWith(candidate, this.pos)) {
        fn = candidate;
        this.pos += candidate.length;
        break;
      }
    }
    if (!fn) this.fail("expected local-name(), namespace-uri() or name()");
    if (!this.accept('(') || !this.accept(')')) this.fail(`expected "()" after ${fn}`);
    if (!this.accept('=')) this.fail('expected "="');
    this.skipSpace();
    const quote = this.source.charAt(this.pos);
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted string');
    const end = this.source.indexOf(quote, this.pos + 1);
    if (end === -1) this.fail('the string is not closed');
    const value = this.source.slice(this.pos + 1, end);
    this.pos = end + 1;
    return { fn, value };
  }
}

interface Frame {
  /** True when this element was selected by the step of its depth (and its ancestors by theirs). */
  onPath: boolean;
  /** For each predicate of the next step: how many children passed the tests before it (positions). */
  counters: number[];
}

const offPath: Frame = { onPath: false, counters: [] };

/**
 * Follows the location path while the document streams by and remembers the first element it selects,
 * with where that element ends (the signature goes right before its end tag).
 */
export class SignatureLocationMatcher {
  private readonly frames: Frame[] = [];
  selected: XmlElement | null = null;
  /** Index of the selected element's end tag '<' or of its '/>' when it is an empty-element tag. */
  end = -1;
  selfClosing = false;

  constructor(private readonly location: SignatureLocation) {}

  startElement(element: XmlElement): void {
    const steps = this.location.steps;
    const depth = element.depth;
    const parent = depth === 1 ? null : this.frames[this.frames.length - 1];
    const parentOnPath = depth === 1 || parent!.onPath;
    if (this.selected !== null || !parentOnPath || depth > steps.length) {
      this.frames.push(offPath);
      return;
    }
    const step = steps[depth - 1];
    const counters = parent ? parent.counters : (this.rootCounters ??= []);
    const selected = matches(step, element, counters);
    if (selected && depth === steps.length) this.selected = element;
    this.frames.push(selected ? { onPath: true, counters: [] } : offPath);
  }

  private rootCounters: number[] | undefined;

  endElement(element: XmlElement, end: number, selfClosing: boolean): void {
    this.frames.pop();
    if (element === this.selected) {
      this.end = end;
      this.selfClosing = selfClosing;
    }
  }

  /** What to tell a client whose path selected nothing. */
  describeMiss(): string {
    const unprefixed = this.location.steps.some((step) => step.test.kind === 'name' && step.test.prefix === '');
    return (
      `signatureLocation "${this.location.source}" selects no element of the document` +
      (unprefixed
        ? "; note that an unprefixed name only matches elements in no namespace (write *[local-name()='Name'])"
        : '')
    );
  }
}

function matches(step: LocationStep, element: XmlElement, counters: number[]): boolean {
  const test = step.test;
  switch (test.kind) {
    case 'any':
      break;
    case 'anyInNamespace':
      if (element.namespaces[test.prefix] === undefined || element.namespaceUri !== element.namespaces[test.prefix]) return false;
      break;
    case 'name':
      if (element.localName !== test.localName) return false;
      if (test.prefix === '' ? element.namespaceUri !== '' : element.namespaceUri !== element.namespaces[test.prefix]) return false;
      break;
  }
  for (let i = 0; i < step.predicates.length; i++) {
    const predicate = step.predicates[i];
    const position = (counters[i] = (counters[i] ?? 0) + 1);
    if (predicate.kind === 'position') {
      if (position !== predicate.position) return false;
    } else {
      for (const condition of predicate.conditions) {
        const actual =
          condition.fn === 'local-name' ? element.localName : condition.fn === 'namespace-uri' ? element.namespaceUri : element.qname;
        if (actual !== condition.value) return false;
      }
    }
  }
  return true;
}
