import { SignetError } from '../../../errors/signet-error.js';
import { PdfDict, PdfName, PdfStream, PdfString, isName, type PdfObject } from '../objects.js';
import { readContentStream } from './content-stream.js';
import { decodeStream, MAX_DECODED_STREAM } from './filters.js';
import { eachPage, findPage, type PageInfo } from './page-tree.js';
import type { PdfReader } from './pdf-reader.js';
import { standardFontWidths } from './standard-font-widths.js';

/*
 * Finds where a piece of text is shown on the pages of a PDF: the content streams are run for their
 * text-positioning and text-showing operators only (ISO 32000-1 §9.4), with the transformation matrix
 * (§8.3.4, §8.4.4 `cm` / `q` / `Q`) and the text state (§9.3) that place the glyphs. Nothing is drawn
 * and no glyph is decoded: a string's bytes are compared with the text's bytes, which finds text set in
 * simple fonts (one byte per character code, §9.6) — Type 1, TrueType, Type 3 with a standard or
 * WinAnsi-like encoding. Composite fonts (Type0, e.g. Identity-H) number glyphs, not characters; their
 * strings are not searched, only stepped over.
 */

/** Where a text is shown: the baseline origin of its first glyph. */
export interface TextPosition {
  /** Zero-based page index. */
  pageIndex: number;
  page: PageInfo;
  /** In the page's default user space (§8.3.2.3), unrotated, not relative to the MediaBox. */
  x: number;
  y: number;
}

export interface TextSearchResult {
  /** The first showing of the text, in page order and content-stream order; absent when not found. */
  position?: TextPosition;
  pageCount: number;
  /** False when some content could not be read (an unsupported filter, broken syntax, the work limit). */
  complete: boolean;
}

/** Content bytes decoded in one search, over every page: beyond it the search stops (not found). */
const MAX_DECODED_TOTAL = 256 * 1024 * 1024;
/** Operators run in one search: a hostile file cannot make a signature take minutes. */
const MAX_OPERATORS = 20_000_000;
/** Form XObjects drawing form XObjects (§8.10): deeper than this is not followed. */
const MAX_FORM_DEPTH = 12;
/** `q` without `Q` deeper than this: the saved states beyond it are dropped. */
const MAX_STATE_DEPTH = 1024;

/**
 * The first place `text` is shown, reading pages in order and each page's content (its /Contents
 * streams joined, §7.8.2, and the form XObjects it draws) in order. A match may span the strings of
 * one TJ array (kerning numbers between them are stepped over) but not two operators.
 */
export function findText(reader: PdfReader, text: string): TextSearchResult {
  if (text.length === 0 || /[^\x00-\xff]/.test(text)) {
    // Single-byte strings cannot hold it.
    return { pageCount: findPage(reader, 0).pageCount, complete: true };
  }
  const search = new TextSearch(reader, Buffer.from(text, 'latin1'));
  // One walk of the page tree for all pages (findPage per index would be quadratic in pages); the
  // count comes from findPage, which counts leaf pages without parsing them.
  const pageCount = () => findPage(reader, 0).pageCount;
  for (const page of eachPage(reader)) {
    const position = search.page(page);
    if (position) return { position, pageCount: pageCount(), complete: search.complete };
    if (search.exhausted) break;
  }
  return { pageCount: pageCount(), complete: search.complete };
}

/** §8.3.3: [a b c d e f], a point transforms as [x y 1] × M. */
type Matrix = readonly [number, number, number, number, number, number];
const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

/** m × n: first m, then n (§8.3.4). */
function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[1] * n[2],
    m[0] * n[1] + m[1] * n[3],
    m[2] * n[0] + m[3] * n[2],
    m[2] * n[1] + m[3] * n[3],
    m[4] * n[0] + m[5] * n[2] + n[4],
    m[4] * n[1] + m[5] * n[3] + n[5],
  ];
}

function transform(m: Matrix, x: number, y: number): [number, number] {
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

function translation(tx: number, ty: number): Matrix {
  return [1, 0, 0, 1, tx, ty];
}

/** What stepping over a string needs of a font (§9.2.4, §9.7.4.3). */
interface FontMetrics {
  /** Bytes per character code: 1 for simple fonts; 2 for composite fonts (as Identity-H has). */
  codeLength: 1 | 2;
  /** Horizontal displacement w0 of a code, in text space units at a font size of 1. */
  width(code: number): number;
}

/** A font without /Widths that is not a standard one (standard-font-widths.ts): half an em per glyph is the estimate. */
const ESTIMATED_WIDTH = 0.5;
const UNKNOWN_FONT: FontMetrics = { codeLength: 1, width: () => ESTIMATED_WIDTH };

/** §9.3: the text state parameters, part of the graphics state (saved by `q`). */
interface GraphicsState {
  ctm: Matrix;
  charSpacing: number;
  wordSpacing: number;
  /** Tz / 100. */
  horizontalScale: number;
  leading: number;
  font: FontMetrics;
  fontSize: number;
  rise: number;
}

class TextSearch {
  complete = true;
  exhausted = false;
  private decodedTotal = 0;
  private operators = 0;
  private readonly fonts = new WeakMap<object, FontMetrics>();

  constructor(
    private readonly reader: PdfReader,
    private readonly needle: Buffer,
  ) {}

  page(page: PageInfo): TextPosition | undefined {
    const contents = this.tolerant(() => this.reader.resolve(page.dict.get('Contents')));
    const streams = (Array.isArray(contents) ? contents : [contents]).map((item) => this.tolerant(() => this.reader.resolve(item)));
    const parts: Buffer[] = [];
    for (const stream of streams) {
      if (!(stream instanceof PdfStream)) continue;
      const data = this.decode(stream);
      if (data) parts.push(data, Buffer.from('\n'));
    }
    if (parts.length === 0) return undefined;
    const resources = this.dict(page.resources);
    const found = this.run(Buffer.concat(parts), resources, initialState(), new Set(), 0);
    return found && { pageIndex: page.index, page, x: found[0], y: found[1] };
  }

  /** Runs one content stream (a page's, or a form's) from `state`; the user-space point of the first match. */
  private run(data: Buffer, resources: PdfDict | undefined, start: GraphicsState, forms: Set<object>, depth: number): [number, number] | undefined {
    let state = { ...start };
    const saved: GraphicsState[] = [];
    // §9.4.2: the text matrix and text line matrix, set by BT and the positioning operators.
    let tm: Matrix = IDENTITY;
    let tlm: Matrix = IDENTITY;
    let found: [number, number] | undefined;

    const newLine = (tx: number, ty: number) => {
      tlm = multiply(translation(tx, ty), tlm);
      tm = tlm;
    };
    const show = (elements: PdfObject[]) => {
      const font = state.font;
      if (font.codeLength === 1) {
        const strings = elements.filter((e): e is PdfString => e instanceof PdfString);
        const at = (strings.length === 1 ? strings[0].bytes : Buffer.concat(strings.map((s) => s.bytes))).indexOf(this.needle);
        if (at >= 0) {
          const offset = advance(state, elements, at);
          found = transform(multiply(tm, state.ctm), offset, state.rise);
          return;
        }
      }
      tm = multiply(translation(advance(state, elements), 0), tm);
    };

    const result = readContentStream(data, (operator, operands) => {
      if (++this.operators > MAX_OPERATORS) {
        this.exhausted = true;
        return 'stop';
      }
      const n = (index: number) => {
        const value = operands[operands.length - 1 - index];
        return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
      };
      switch (operator) {
        case 'q':
          if (saved.length < MAX_STATE_DEPTH) saved.push(state);
          state = { ...state };
          break;
        case 'Q':
          state = saved.pop() ?? state;
          break;
        case 'cm': {
          const m = matrixOperands(operands);
          if (m) state.ctm = multiply(m, state.ctm);
          break;
        }
        case 'BT':
          tm = IDENTITY;
          tlm = IDENTITY;
          break;
        case 'Tc':
          state.charSpacing = n(0) ?? state.charSpacing;
          break;
        case 'Tw':
          state.wordSpacing = n(0) ?? state.wordSpacing;
          break;
        case 'Tz':
          state.horizontalScale = (n(0) ?? state.horizontalScale * 100) / 100;
          break;
        case 'TL':
          state.leading = n(0) ?? state.leading;
          break;
        case 'Ts':
          state.rise = n(0) ?? state.rise;
          break;
        case 'Tf': {
          const fontName = operands[operands.length - 2];
          state.fontSize = n(0) ?? state.fontSize;
          if (fontName instanceof PdfName) state.font = this.font(resources, fontName.value);
          break;
        }
        case 'Td':
        case 'TD': {
          const tx = n(1);
          const ty = n(0);
          if (tx === undefined || ty === undefined) break;
          if (operator === 'TD') state.leading = -ty;
          newLine(tx, ty);
          break;
        }
        case 'Tm': {
          const m = matrixOperands(operands);
          if (m) {
            tm = m;
            tlm = m;
          }
          break;
        }
        case 'T*':
          newLine(0, -state.leading);
          break;
        case 'Tj':
        case 'TJ':
        case "'":
        case '"': {
          const last = operands[operands.length - 1];
          if (operator === '"') {
            state.wordSpacing = n(2) ?? state.wordSpacing;
            state.charSpacing = n(1) ?? state.charSpacing;
          }
          if (operator === "'" || operator === '"') newLine(0, -state.leading);
          if (operator === 'TJ' && Array.isArray(last)) show(last);
          else if (operator !== 'TJ' && last instanceof PdfString) show([last]);
          break;
        }
        case 'Do': {
          const name = operands[operands.length - 1];
          if (name instanceof PdfName) found = this.form(resources, name.value, state, forms, depth);
          break;
        }
        default:
          break;
      }
      return found ? 'stop' : undefined;
    });
    if (!result.complete && !found) this.complete = false;
    return found;
  }

  /** §8.10.1: a form XObject is drawn with the state at `Do`, its /Matrix first, its own resources (or the page's). */
  private form(resources: PdfDict | undefined, name: string, state: GraphicsState, forms: Set<object>, depth: number): [number, number] | undefined {
    const xobject = this.tolerant(() => this.reader.resolve(this.dict(resources?.get('XObject'))?.get(name)));
    if (!(xobject instanceof PdfStream) || !isName(xobject.dict.get('Subtype'), 'Form')) return undefined;
    if (forms.has(xobject) || depth >= MAX_FORM_DEPTH) return undefined;
    const data = this.decode(xobject);
    if (!data) return undefined;
    const declared = this.tolerant(() => this.reader.resolve(xobject.dict.get('Matrix')));
    const matrix = (Array.isArray(declared) ? matrixOperands(declared) : undefined) ?? IDENTITY;
    forms.add(xobject);
    try {
      const formResources = this.dict(xobject.dict.get('Resources')) ?? resources;
      return this.run(data, formResources, { ...state, ctm: multiply(matrix, state.ctm) }, forms, depth + 1);
    } finally {
      forms.delete(xobject);
    }
  }

  /** A stream's decoded bytes, or undefined (and the search incomplete) when they cannot be had. */
  private decode(stream: PdfStream): Buffer | undefined {
    const room = Math.min(MAX_DECODED_STREAM, MAX_DECODED_TOTAL - this.decodedTotal);
    const data = room > 0 ? this.tolerant(() => decodeStream(stream, room)) : undefined;
    if (!data) {
      this.complete = false;
      if (room <= 0) this.exhausted = true;
      return undefined;
    }
    this.decodedTotal += data.length;
    return data;
  }

  private font(resources: PdfDict | undefined, name: string): FontMetrics {
    const font = this.tolerant(() => this.reader.resolve(this.dict(resources?.get('Font'))?.get(name)));
    if (!(font instanceof PdfDict)) return UNKNOWN_FONT;
    let metrics = this.fonts.get(font);
    if (!metrics) {
      metrics = this.tolerant(() => fontMetrics(this.reader, font)) ?? UNKNOWN_FONT;
      this.fonts.set(font, metrics);
    }
    return metrics;
  }

  private dict(value: PdfObject | undefined): PdfDict | undefined {
    const resolved = this.tolerant(() => this.reader.resolve(value));
    return resolved instanceof PdfDict ? resolved : undefined;
  }

  /**
   * Content and resources are read only to place the stamp; signing never needs them. A broken one
   * (a missing object, an unsupported filter) is skipped rather than failing a document that signs
   * fine otherwise.
   */
  private tolerant<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch (error) {
      if (error instanceof SignetError || error instanceof RangeError) {
        this.complete = false;
        return undefined;
      }
      throw error;
    }
  }
}

function initialState(): GraphicsState {
  return { ctm: IDENTITY, charSpacing: 0, wordSpacing: 0, horizontalScale: 1, leading: 0, font: UNKNOWN_FONT, fontSize: 0, rise: 0 };
}

function matrixOperands(operands: PdfObject[]): Matrix | undefined {
  const six = operands.slice(-6);
  if (six.length !== 6 || !six.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  return six as unknown as Matrix;
}

/**
 * §9.4.4: the horizontal displacement of showing `elements` (strings, and TJ's numbers in thousandths
 * of an em), in unscaled text space: tx = ((w0 − Tj/1000) × Tfs + Tc + Tw) × Th, Tw for the single-byte
 * code 32 only. With `stopAt`, the displacement up to that byte of the strings joined.
 */
function advance(state: GraphicsState, elements: PdfObject[], stopAt?: number): number {
  const { font, fontSize, charSpacing, wordSpacing, horizontalScale } = state;
  let tx = 0;
  let byte = 0;
  for (const element of elements) {
    if (typeof element === 'number') {
      tx -= (element / 1000) * fontSize * horizontalScale;
      continue;
    }
    if (!(element instanceof PdfString)) continue;
    const bytes = element.bytes;
    for (let i = 0; i + font.codeLength <= bytes.length; i += font.codeLength, byte += font.codeLength) {
      if (byte === stopAt) return tx;
      const code = font.codeLength === 1 ? bytes[i] : bytes.readUInt16BE(i);
      const spacing = charSpacing + (font.codeLength === 1 && code === 32 ? wordSpacing : 0);
      tx += (font.width(code) * fontSize + spacing) * horizontalScale;
    }
  }
  return tx;
}

/** Widths of a font dictionary (§9.6.2.1 simple fonts, §9.6.5 Type 3, §9.7.4.3 CIDFonts of a Type0 font). */
function fontMetrics(reader: PdfReader, font: PdfDict): FontMetrics {
  const subtype = reader.resolve(font.get('Subtype'));
  if (isName(subtype, 'Type0')) return compositeFontMetrics(reader, font);
  const numbers = (value: PdfObject | undefined) => {
    const array = reader.resolve(value);
    return Array.isArray(array) ? array.map((item) => reader.resolve(item)) : undefined;
  };
  const widths = numbers(font.get('Widths'));
  const firstChar = reader.resolve(font.get('FirstChar'));
  const descriptor = reader.getDict(font, 'FontDescriptor');
  const missing = descriptor ? reader.resolve(descriptor.get('MissingWidth')) : undefined;
  // Glyph space is 1/1000 of text space, except in Type 3 fonts, whose /FontMatrix says (§9.6.5).
  const matrix = isName(subtype, 'Type3') ? numbers(font.get('FontMatrix')) : undefined;
  const scale = matrix && typeof matrix[0] === 'number' && matrix[0] !== 0 ? matrix[0] : 0.001;
  if (!widths) {
    const baseFont = reader.resolve(font.get('BaseFont'));
    const standard = isName(baseFont) ? standardFontWidths(baseFont.value) : undefined;
    return { codeLength: 1, width: standard ? (code) => standard(code) / 1000 : () => ESTIMATED_WIDTH };
  }
  const first = typeof firstChar === 'number' ? firstChar : 0;
  const fallback = typeof missing === 'number' ? missing : 0;
  return {
    codeLength: 1,
    width: (code) => {
      const w = widths[code - first];
      return (typeof w === 'number' ? w : fallback) * scale;
    },
  };
}

/** Entries of a /W array kept: a larger one is stepped over with the default width. */
const MAX_W_ENTRIES = 65_536;

/** §9.7.4.3: /DW (default 1000) and /W of the descendant CIDFont; codes taken as two-byte CIDs (Identity). */
function compositeFontMetrics(reader: PdfReader, font: PdfDict): FontMetrics {
  const descendants = reader.resolve(font.get('DescendantFonts'));
  const cidFont = Array.isArray(descendants) ? reader.resolve(descendants[0]) : undefined;
  if (!(cidFont instanceof PdfDict)) return { codeLength: 2, width: () => 1 };
  const dw = reader.resolve(cidFont.get('DW'));
  const defaultWidth = typeof dw === 'number' ? dw : 1000;
  const single = new Map<number, number>();
  const ranges: Array<[number, number, number]> = [];
  const w = reader.resolve(cidFont.get('W'));
  if (Array.isArray(w)) {
    for (let i = 0; i < w.length && single.size + ranges.length < MAX_W_ENTRIES; ) {
      const first = reader.resolve(w[i]);
      const next = reader.resolve(w[i + 1]);
      if (typeof first !== 'number') break;
      if (Array.isArray(next)) {
        next.slice(0, MAX_W_ENTRIES).forEach((value, k) => {
          const width = reader.resolve(value);
          if (typeof width === 'number') single.set(first + k, width);
        });
        i += 2;
      } else {
        const width = reader.resolve(w[i + 2]);
        if (typeof next !== 'number' || typeof width !== 'number') break;
        ranges.push([first, next, width]);
        i += 3;
      }
    }
  }
  return {
    codeLength: 2,
    width: (cid) => {
      const width = single.get(cid) ?? ranges.find(([from, to]) => cid >= from && cid <= to)?.[2] ?? defaultWidth;
      return width / 1000;
    },
  };
}
