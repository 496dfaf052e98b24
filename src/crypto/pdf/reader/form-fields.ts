import { PdfDict, PdfRef, PdfString, decodeTextString, isName, type PdfObject } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import type { PdfReader } from './pdf-reader.js';

/*
 * The interactive form's field tree (ISO 32000-1 §12.7.3), read: signature fields empty and filled.
 * Signing (pades/signature-field.ts) fills or adds one; validation (validation/pdf-signatures.ts)
 * checks the filled ones.
 */

/** Field trees deeper or larger than this are hostile, not forms. */
const MAX_FIELD_NODES = 100_000;
const MAX_FIELD_DEPTH = 32;

export interface FieldNode {
  ref: PdfRef;
  dict: PdfDict;
  fullName: string;
}

export interface FormSummary {
  topLevelNames: Set<string>;
  /** Terminal fields of type /Sig without a value, in field-tree order. */
  emptySignatureFields: FieldNode[];
  /** Terminal fields of type /Sig whose value is a dictionary, in field-tree order. */
  signedFields: Array<FieldNode & { value: PdfDict }>;
}

/** A filled signature field (§12.7.4.5) and its signature or document time-stamp dictionary (§12.8.1, §12.8.5). */
export interface FilledSignatureField {
  ref: PdfRef;
  /** Fully qualified field name. */
  name: string;
  value: PdfDict;
}

/** Every signature field of the document's form that has a value, in field-tree order. */
export function filledSignatureFields(reader: PdfReader): FilledSignatureField[] {
  const acroForm = reader.getDict(reader.catalog(), 'AcroForm');
  const fields = acroForm ? reader.resolve(acroForm.get('Fields')) : undefined;
  if (!Array.isArray(fields)) return [];
  return walkFields(reader, fields).signedFields.map((field) => ({ ref: field.ref, name: field.fullName, value: field.value }));
}

/**
 * §12.7.3.1: the field tree, from /Fields down through /Kids; a kid without /T is a widget, not a field.
 * /FT is inheritable. Iterative, every node visited once, so a looping tree cannot hang us.
 */
export function walkFields(reader: PdfReader, fields: PdfObject[]): FormSummary {
  const topLevelNames = new Set<string>();
  const emptySignatureFields: FieldNode[] = [];
  const signedFields: FormSummary['signedFields'] = [];
  const seen = new Set<number>();
  interface Pending {
    value: PdfObject;
    parentName: string;
    parentType?: string;
    depth: number;
  }
  const stack: Pending[] = fields.map((value) => ({ value, parentName: '', depth: 0 })).reverse();
  while (stack.length > 0) {
    const { value, parentName, parentType, depth } = stack.pop()!;
    if (!(value instanceof PdfRef)) continue; // §12.7.3.1: fields are indirect objects
    if (seen.has(value.num)) continue;
    seen.add(value.num);
    if (seen.size > MAX_FIELD_NODES || depth > MAX_FIELD_DEPTH) throw invalidPdf('the form field tree is too large or too deep');
    const dict = reader.resolve(value);
    if (!(dict instanceof PdfDict)) continue;
    const partial = reader.resolve(dict.get('T'));
    const partialName = partial instanceof PdfString ? decodeTextString(partial) : '';
    if (depth === 0 && partialName) topLevelNames.add(partialName);
    const fullName = parentName && partialName ? `${parentName}.${partialName}` : parentName || partialName;
    const ft = reader.resolve(dict.get('FT'));
    const type = isName(ft) ? ft.value : parentType;
    const kids = reader.resolve(dict.get('Kids'));
    const fieldKids = Array.isArray(kids)
      ? kids.filter((kid) => {
          const kidDict = reader.resolve(kid);
          return kidDict instanceof PdfDict && kidDict.has('T');
        })
      : [];
    if (fieldKids.length > 0) {
      for (let i = fieldKids.length - 1; i >= 0; i--) {
        stack.push({ value: fieldKids[i], parentName: fullName, parentType: type, depth: depth + 1 });
      }
      continue;
    }
    const current = reader.resolve(dict.get('V'));
    if (type === 'Sig' && (current === undefined || current === null)) {
      emptySignatureFields.push({ ref: value, dict, fullName });
    } else if (type === 'Sig' && current instanceof PdfDict) {
      signedFields.push({ ref: value, dict, fullName, value: current });
    }
  }
  return { topLevelNames, emptySignatureFields, signedFields };
}

