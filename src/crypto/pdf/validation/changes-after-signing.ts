import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, isName, type PdfObject } from '../objects.js';
import { docMdpPermission } from '../reader/docmdp-permission.js';
import type { PdfReader } from '../reader/pdf-reader.js';

/*
 * What later incremental updates changed in a signed revision (ISO 32000-1 §7.5.6, §12.8.2.2; ETSI EN
 * 319 142-1 §5.4 for what PAdES-LTA itself appends). A signature covers its revision only; the bytes
 * after it can still change what a viewer shows ("shadow attacks", a replaced /Reason, an added page).
 * So every object whose definition differs between the signed revision and the whole file is compared,
 * and only the changes that signing, form filling of signature fields and long-term validation make
 * are allowed:
 *
 * - new objects (they matter only if a changed object points to them, which is judged there);
 * - the catalog's /AcroForm, /DSS, /Metadata, /Extensions and /Version; the form's /Fields (growing
 *   with signature fields only), /SigFlags, /DR, /DA, /NeedAppearances;
 * - a page's /Annots growing with signature widgets only;
 * - an empty signature field (or its widget) getting its value and appearance;
 * - XMP metadata streams and the document information dictionary.
 *
 * Anything else — a changed signature dictionary, a page added or changed, content or an appearance
 * stream rewritten, a new catalog, an object the signed revision pointed to but did not define yet —
 * is reported, one sentence per object, starting `modified_after_signing:`. An object inside an
 * object stream is compared whenever that stream was rewritten. In a document certified with DocMDP
 * /P 1 even signing is a change; what /P 3 would allow beyond the list above (annotations) is
 * reported too: strict rather than silent.
 */

const CATALOG_KEYS = new Set(['AcroForm', 'DSS', 'Metadata', 'Extensions', 'Version']);
const ACROFORM_KEYS = new Set(['Fields', 'SigFlags', 'DR', 'DA', 'NeedAppearances']);
const SIGNATURE_FILL_KEYS = new Set(['V', 'AP', 'AS', 'MK', 'F', 'P', 'DA', 'Lock', 'SV']);
const STRUCTURAL_TYPES = new Set(['XRef', 'ObjStm']);

export function changesAfterSigning(signed: PdfReader, whole: PdfReader): string[] {
  const problems: string[] = [];
  const catalogNum = signed.catalogRef.num;
  if (whole.catalogRef.num !== catalogNum) {
    return [`modified_after_signing: a later revision replaced the document catalog (object ${catalogNum} → ${whole.catalogRef.num}): the whole document may differ`];
  }
  const acroFormNum = refNum(signed.catalog().get('AcroForm'));
  // Only the signed revision's own /Info, and only if it is a plain dictionary: a later trailer could name any object.
  const signedInfo = refNum(signed.trailer.get('Info'));
  const infoDict = signedInfo !== undefined ? safeObject(signed, signedInfo) : undefined;
  const infoNums = new Set(infoDict instanceof PdfDict && !infoDict.has('Type') ? [signedInfo] : []);
  const context: Context = { signed, whole, catalogNum, acroFormNum, infoNums, noChanges: safeDocMdp(signed) === 1 };

  for (const [num, entry] of whole.xref.entries) {
    const before = signed.entry(num);
    if (sameEntry(before, entry, signed, whole)) continue;
    const hadObject = before !== undefined && before.type !== 'free';
    if (entry.type === 'free') {
      if (hadObject) problems.push(`modified_after_signing: object ${num} was deleted by a later revision`);
      continue;
    }
    if (!hadObject) {
      // A new object matters when something signed already pointed to it (a dangling reference filled in later).
      context.references ??= referencesIn(signed);
      if (context.references.has(num)) problems.push(`modified_after_signing: object ${num}, referenced but not defined when signed, was defined by a later revision`);
      continue;
    }
    const old = safeObject(signed, num);
    const now = safeObject(whole, num);
    if (now === undefined) {
      problems.push(`modified_after_signing: object ${num} cannot be read after a later revision redefined it`);
      continue;
    }
    if (samePdfObject(old, now)) continue;
    const verdict = judge(num, old, now, context);
    if (verdict) problems.push(`modified_after_signing: ${verdict}`);
  }
  return problems;
}

function safeDocMdp(reader: PdfReader): number | undefined {
  try {
    return docMdpPermission(reader);
  } catch {
    return undefined;
  }
}

/**
 * Every object number the revision refers to, with where it is first referred to (a key path such as
 * `XObject/I1` in object 2, or the trailer): one pass over the revision, made the first time a new object
 * or a message needs it.
 */
function referencesIn(reader: PdfReader): References {
  const found: References = new Map();
  const visit = (value: PdfObject | undefined, from: number | 'trailer', path: string, depth: number) => {
    if (depth > 64) return;
    if (value instanceof PdfRef) {
      if (value.num !== from && !found.has(value.num)) found.set(value.num, { key: path, from });
    } else if (Array.isArray(value)) value.forEach((item, index) => visit(item, from, `${path}[${index}]`, depth + 1));
    else if (value instanceof PdfDict) for (const [key, item] of value.entries) visit(item, from, path ? `${path}/${key}` : key, depth + 1);
    else if (value instanceof PdfStream) visit(value.dict, from, path, depth + 1);
  };
  for (const [num, entry] of reader.xref.entries) if (entry.type !== 'free') visit(safeObject(reader, num), num, '', 0);
  visit(reader.trailer, 'trailer', '', 0);
  return found;
}

type References = Map<number, { key: string; from: number | 'trailer' }>;

interface Context {
  signed: PdfReader;
  whole: PdfReader;
  catalogNum: number;
  acroFormNum: number | undefined;
  infoNums: Set<number | undefined>;
  /** Certified with DocMDP /P 1: not even a signature may be added. */
  noChanges: boolean;
  /** Object number → where the signed revision first refers to it (built lazily, referencesIn). */
  references?: References;
}

/** Undefined when the change is one signing or validation data may make; else what changed. */
function judge(num: number, old: PdfObject | undefined, now: PdfObject, context: Context): string | undefined {
  if (context.infoNums.has(num)) return undefined;
  const oldDict = dictOf(old);
  const newDict = dictOf(now);
  if (old instanceof PdfStream || now instanceof PdfStream) {
    // Only an XMP stream may become a newer XMP stream: anything else turned into one is hidden content.
    const [before, after] = [typeOf(oldDict), typeOf(newDict)];
    if (before === after && before !== undefined && (before === 'Metadata' || STRUCTURAL_TYPES.has(before))) return undefined;
    return `object ${num} (a ${describe(oldDict, 'stream')}) was rewritten by a later revision${referencedAs(context, num)}`;
  }
  if (Array.isArray(old) && Array.isArray(now)) {
    const added = grownBy(old, now);
    if (added && added.every((item) => allowedNewField(context, item))) return undefined;
    return `array object ${num} was changed by a later revision${referencedAs(context, num)}`;
  }
  if (!oldDict || !newDict) return `object ${num} was replaced by a later revision`;
  const changed = changedKeys(oldDict, newDict);
  if (num === context.catalogNum) {
    const disallowed = changed.filter((key) => !CATALOG_KEYS.has(key));
    if (disallowed.length) return `the document catalog's ${keys(disallowed)} changed after signing`;
    // A form that is direct in the catalog, or another form object, is judged here like the form object itself.
    if (changed.includes('AcroForm') && !(oldDict.get('AcroForm') instanceof PdfRef && samePdfObject(oldDict.get('AcroForm'), newDict.get('AcroForm')))) {
      const oldForm = dictOf(safeResolve(context.signed, oldDict.get('AcroForm'))) ?? new PdfDict();
      const newForm = dictOf(safeResolve(context.whole, newDict.get('AcroForm'))) ?? new PdfDict();
      return judgeForm(context, oldForm, newForm);
    }
    return undefined;
  }
  if (num === context.acroFormNum) return judgeForm(context, oldDict, newDict);
  if (isSignatureValue(oldDict)) {
    return `the signature dictionary (object ${num}) was changed after signing: ${keys(changed)} — its new values are not what was signed`;
  }
  if (isSignatureField(context.signed, oldDict)) {
    if (oldDict.has('V')) return `the signed field ${fieldName(oldDict)} (object ${num}) was changed after signing: ${keys(changed)}`;
    if (context.noChanges) return `the signature field ${fieldName(oldDict)} was signed although the document is certified with no changes allowed (DocMDP /P 1)`;
    const disallowed = changed.filter((key) => !SIGNATURE_FILL_KEYS.has(key));
    return disallowed.length ? `the signature field ${fieldName(oldDict)} (object ${num}) was changed beyond being signed: ${keys(disallowed)}` : undefined;
  }
  if (isName(oldDict.get('Type'), 'Page')) {
    const disallowed = changed.filter((key) => key !== 'Annots');
    if (disallowed.length) return `page object ${num} changed after signing: ${keys(disallowed)}`;
    const oldAnnots = context.signed.resolve(oldDict.get('Annots'));
    const newAnnots = context.whole.resolve(newDict.get('Annots'));
    const added = grownBy(Array.isArray(oldAnnots) ? oldAnnots : [], Array.isArray(newAnnots) ? newAnnots : []);
    if (added && added.every((item) => allowedNewField(context, item))) return undefined;
    return `page object ${num} got annotations other than signature widgets after signing`;
  }
  return `object ${num} (a ${describe(oldDict, 'dictionary')}) was changed by a later revision: ${keys(changed)}`;
}

/** The same definition in both: same offset, or same place in an object stream that was not itself rewritten. */
function sameEntry(a: ReturnType<PdfReader['entry']>, b: ReturnType<PdfReader['entry']>, signed: PdfReader, whole: PdfReader): boolean {
  if (!a || !b || a.type !== b.type) return false;
  if (a.type === 'offset' && b.type === 'offset') return a.offset === b.offset && a.gen === b.gen;
  if (a.type === 'compressed' && b.type === 'compressed') {
    if (a.stream !== b.stream || a.index !== b.index) return false;
    const [streamBefore, streamNow] = [signed.entry(a.stream), whole.entry(b.stream)];
    return streamBefore?.type === 'offset' && streamNow?.type === 'offset' && streamBefore.offset === streamNow.offset;
  }
  return a.type === 'free';
}

/** The object, or undefined when it cannot be read (a broken or lying cross-reference entry). */
function safeObject(reader: PdfReader, num: number): PdfObject | undefined {
  try {
    return reader.getObject(num);
  } catch {
    return undefined;
  }
}

/** Structural equality: dictionaries by their keys (order aside), streams by dictionary and bytes. */
export function samePdfObject(a: PdfObject | undefined, b: PdfObject | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof PdfName) return b instanceof PdfName && a.value === b.value;
  if (a instanceof PdfRef) return b instanceof PdfRef && a.num === b.num && a.gen === b.gen;
  if (a instanceof PdfString) return b instanceof PdfString && a.bytes.equals(b.bytes);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => samePdfObject(item, b[i]));
  if (a instanceof PdfStream) return b instanceof PdfStream && samePdfObject(a.dict, b.dict) && a.rawData.equals(b.rawData);
  if (a instanceof PdfDict) {
    if (!(b instanceof PdfDict) || a.entries.size !== b.entries.size) return false;
    for (const [key, value] of a.entries) if (!b.has(key) || !samePdfObject(value, b.get(key))) return false;
    return true;
  }
  return false;
}

function changedKeys(a: PdfDict, b: PdfDict): string[] {
  const result = new Set<string>();
  for (const [key, value] of a.entries) if (!samePdfObject(value, b.get(key))) result.add(key);
  for (const key of b.entries.keys()) if (!a.has(key)) result.add(key);
  return [...result];
}

/** The items `now` adds at the end of `old`, or undefined when it does not keep `old` as it was. */
function grownBy(old: PdfObject[], now: PdfObject[]): PdfObject[] | undefined {
  if (now.length < old.length) return undefined;
  for (let i = 0; i < old.length; i++) if (!samePdfObject(old[i], now[i])) return undefined;
  return now.slice(old.length);
}

/** The interactive form: only its allowed keys changed, and its fields only grew, by signature fields. */
function judgeForm(context: Context, oldForm: PdfDict, newForm: PdfDict): string | undefined {
  const disallowed = changedKeys(oldForm, newForm).filter((key) => !ACROFORM_KEYS.has(key));
  if (disallowed.length) return `the form's ${keys(disallowed)} changed after signing`;
  const oldFields = safeResolve(context.signed, oldForm.get('Fields'));
  const newFields = safeResolve(context.whole, newForm.get('Fields'));
  const added = grownBy(Array.isArray(oldFields) ? oldFields : [], Array.isArray(newFields) ? newFields : []);
  if (added !== undefined && added.every((item) => allowedNewField(context, item))) return undefined;
  return context.noChanges
    ? 'a field was added although the document is certified with no changes allowed (DocMDP /P 1)'
    : 'the form lost fields or gained fields that are not signature fields after signing';
}

/**
 * A field or widget a later revision may add: a signature field — under DocMDP /P 1 only a document
 * time-stamp, the long-term validation PAdES adds (ETSI EN 319 142-1 §5.4).
 */
function allowedNewField(context: Context, item: PdfObject): boolean {
  const dict = dictOf(safeResolve(context.whole, item));
  if (dict === undefined || !isSignatureField(context.whole, dict)) return false;
  if (!context.noChanges) return true;
  const value = dictOf(safeResolve(context.whole, dict.get('V')));
  return value !== undefined && isName(safeResolve(context.whole, value.get('Type')), 'DocTimeStamp');
}

/** /FT /Sig on the field or, for a widget without it, on its parent (§12.7.3.1: /FT is inheritable). */
function isSignatureField(reader: PdfReader, dict: PdfDict): boolean {
  let current: PdfDict | undefined = dict;
  for (let depth = 0; current && depth < 8; depth++) {
    const type = current.get('FT');
    if (type !== undefined) return isName(type, 'Sig');
    current = dictOf(safeResolve(reader, current.get('Parent')));
  }
  return false;
}

/** A signature value dictionary: /Type /Sig or /DocTimeStamp, or the /ByteRange + /Contents pair. */
function isSignatureValue(dict: PdfDict): boolean {
  return isName(dict.get('Type'), 'Sig') || isName(dict.get('Type'), 'DocTimeStamp') || (dict.has('ByteRange') && dict.has('Contents'));
}

function safeResolve(reader: PdfReader, value: PdfObject | undefined): PdfObject | undefined {
  try {
    return reader.resolve(value);
  } catch {
    return undefined;
  }
}

function dictOf(value: PdfObject | undefined): PdfDict | undefined {
  return value instanceof PdfDict ? value : value instanceof PdfStream ? value.dict : undefined;
}

function typeOf(dict: PdfDict | undefined): string | undefined {
  const type = dict?.get('Type');
  return type instanceof PdfName ? type.value : undefined;
}

function describe(dict: PdfDict | undefined, fallback: string): string {
  const type = typeOf(dict);
  const subtype = dict?.get('Subtype');
  return [type && `/${type}`, subtype instanceof PdfName && `/${subtype.value}`, fallback].filter(Boolean).join(' ');
}

function fieldName(dict: PdfDict): string {
  const title = dict.get('T');
  return title instanceof PdfString ? `"${title.bytes.toString('latin1')}"` : '(unnamed)';
}

function keys(list: string[]): string {
  return list.map((key) => `/${key}`).join(', ');
}

function refNum(value: PdfObject | undefined): number | undefined {
  return value instanceof PdfRef ? value.num : undefined;
}

/** Where the signed revision points at object `num` from a dictionary key, e.g. ` (referenced as /FooBar)`. */
function referencedAs(context: Context, num: number): string {
  context.references ??= referencesIn(context.signed);
  const where = context.references.get(num);
  if (!where) return '';
  return ` (referenced as /${where.key} from ${where.from === 'trailer' ? 'the trailer' : `object ${where.from}`})`;
}
