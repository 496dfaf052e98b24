import { SignetError } from '../../../errors/signet-error.js';
import { PdfDict, PdfRef, PdfStream, name, textString } from '../objects.js';
import { walkFields, type FieldNode } from '../reader/form-fields.js';
import { findPage } from '../reader/page-tree.js';
import type { PdfReader } from '../reader/pdf-reader.js';
import type { IncrementalUpdate } from '../writer/incremental-update.js';

/*
 * The signature field (ISO 32000-1 §12.7.4.5) that will hold the new signature: an empty one the
 * document already has, or a new one whose widget annotation (§12.5.6.19) sits on a page. Everything
 * changed is written as new versions of the objects in the incremental update.
 */

/** Where a visible signature goes: a rectangle on a page, in PDF points from the page's lower-left corner. */
export interface FieldPlacement {
  /** Zero-based page index. */
  pageIndex: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SignatureFieldInput {
  /** The signature dictionary the field's /V will point to. */
  signatureRef: PdfRef;
  /** A visible widget at this place (always a new field); invisible when absent. */
  placement?: FieldPlacement;
  /** Builds the widget's normal appearance (a form XObject) for a width and height in points. */
  appearance: (width: number, height: number) => PdfStream;
  /** The new field's partial name (§12.7.3.2); default "Signature<n>", unique among the top-level fields. */
  fieldName?: string;
  /**
   * Sign into this existing empty signature field (fully qualified name) and nowhere else; a
   * document without it fails with `signature_field_not_found`.
   */
  existingField?: string;
  /** Always add a new field, even when the document has an empty one (a document time-stamp's own field). */
  newField?: boolean;
  /** Prefix of the default field name (default "Signature", giving "Signature<n>"). */
  namePrefix?: string;
}

export interface SignatureField {
  ref: PdfRef;
  /** Fully qualified field name. */
  name: string;
  /** True when an empty signature field of the document was filled rather than a new one added. */
  reused: boolean;
}

/** §12.5.3 annotation flags: Print (bit 3) + Locked (bit 8) — printed, not movable, as PDF/A wants. */
const WIDGET_FLAGS = 4 | 128;
/** §12.7.2 Table 219: SignaturesExist | AppendOnly. */
const SIG_FLAGS = 3;

export function prepareSignatureField(reader: PdfReader, update: IncrementalUpdate, input: SignatureFieldInput): SignatureField {
  const catalogRef = reader.catalogRef;
  const catalog = reader.catalog().clone();
  let catalogChanged = false;

  const acroFormValue = catalog.get('AcroForm');
  const acroFormRef = acroFormValue instanceof PdfRef ? acroFormValue : undefined;
  const existingForm = reader.resolve(acroFormValue);
  const acroForm = existingForm instanceof PdfDict ? existingForm.clone() : new PdfDict();
  let acroFormChanged = false;

  const fieldsValue = acroForm.get('Fields');
  const fieldsRef = fieldsValue instanceof PdfRef ? fieldsValue : undefined;
  const existingFields = reader.resolve(fieldsValue);
  const fields = Array.isArray(existingFields) ? existingFields : [];
  const form = walkFields(reader, fields);

  let result: SignatureField;
  let empty = input.placement || input.newField ? undefined : form.emptySignatureFields[0];
  if (input.existingField !== undefined) {
    empty = form.emptySignatureFields.find((field) => field.fullName === input.existingField);
    if (!empty) {
      const names = form.emptySignatureFields.map((field) => `"${field.fullName}"`).join(', ');
      throw new SignetError(
        'signature_field_not_found',
        `The PDF has no empty signature field "${input.existingField}"` + (names ? `; its empty ones: ${names}` : '; it has none'),
      );
    }
  }
  if (empty) {
    fillEmptyField(reader, update, empty, input);
    result = { ref: empty.ref, name: empty.fullName, reused: true };
  } else {
    const fieldRef = update.allocate();
    const partialName = input.fieldName ?? uniqueName(form.topLevelNames, input.namePrefix);
    if (form.topLevelNames.has(partialName)) {
      throw new SignetError('invalid_request', `The document already has a field named "${partialName}"`);
    }
    addNewField(reader, update, fieldRef, partialName, input);
    const newFields = [...fields, fieldRef];
    if (fieldsRef && Array.isArray(existingFields)) update.put(fieldsRef, newFields);
    else acroForm.set('Fields', newFields);
    if (!fieldsRef || !Array.isArray(existingFields)) acroFormChanged = true;
    result = { ref: fieldRef, name: partialName, reused: false };
  }

  const sigFlags = reader.resolve(acroForm.get('SigFlags'));
  const flags = typeof sigFlags === 'number' ? sigFlags | SIG_FLAGS : SIG_FLAGS;
  if (flags !== sigFlags) {
    acroForm.set('SigFlags', flags);
    acroFormChanged = true;
  }
  if (acroFormChanged) {
    if (acroFormRef && existingForm instanceof PdfDict) {
      update.put(acroFormRef, acroForm);
    } else if (existingForm instanceof PdfDict && !acroFormRef) {
      catalog.set('AcroForm', acroForm);
      catalogChanged = true;
    } else {
      const ref = update.allocate();
      update.put(ref, acroForm);
      catalog.set('AcroForm', ref);
      catalogChanged = true;
    }
  }
  if (catalogChanged) update.put(catalogRef, catalog);
  return result;
}

function uniqueName(taken: Set<string>, prefix = 'Signature'): string {
  for (let n = 1; ; n++) if (!taken.has(`${prefix}${n}`)) return `${prefix}${n}`;
}

/**
 * Fills an empty signature field: /V on the field; a widget with a visible rectangle but no appearance
 * gets one (PDF/A requires an appearance for every visible annotation). The widget stays where the
 * document's author put it.
 */
function fillEmptyField(reader: PdfReader, update: IncrementalUpdate, field: FieldNode, input: SignatureFieldInput): void {
  const fieldDict = field.dict.clone().set('V', input.signatureRef);
  const kids = reader.resolve(fieldDict.get('Kids'));
  const widgetRef = Array.isArray(kids) && kids[0] instanceof PdfRef ? kids[0] : undefined;
  const widget = widgetRef ? reader.resolve(widgetRef) : fieldDict;
  if (widget instanceof PdfDict && !widget.has('AP')) {
    const rect = reader.resolve(widget.get('Rect'));
    const box = Array.isArray(rect) && rect.length === 4 && rect.every((n) => typeof n === 'number') ? (rect as number[]) : undefined;
    const width = box ? Math.abs(box[2] - box[0]) : 0;
    const height = box ? Math.abs(box[3] - box[1]) : 0;
    if (width > 0 && height > 0) {
      const appearanceRef = update.allocate();
      update.put(appearanceRef, input.appearance(width, height));
      const target = widgetRef ? widget.clone() : fieldDict;
      target.set('AP', new PdfDict([['N', appearanceRef]]));
      if (widgetRef) update.put(widgetRef, target);
    }
  }
  update.put(field.ref, fieldDict);
}

/** A new field merged with its widget (§12.7.3.1 allows one dictionary for both), linked from its page's /Annots. */
function addNewField(reader: PdfReader, update: IncrementalUpdate, fieldRef: PdfRef, partialName: string, input: SignatureFieldInput): void {
  const placement = input.placement;
  const pageIndex = placement?.pageIndex ?? 0;
  const { page, pageCount } = findPage(reader, pageIndex);
  if (!page) {
    throw new SignetError('invalid_request', `The document has ${pageCount} page(s); there is no page ${pageIndex + 1} for the visible signature`, {
      field: 'visible.page',
    });
  }
  let rect = [0, 0, 0, 0];
  const widget = new PdfDict([
    ['Type', name('Annot')],
    ['Subtype', name('Widget')],
    ['FT', name('Sig')],
    ['T', textString(partialName)],
    ['V', input.signatureRef],
    ['F', WIDGET_FLAGS],
    ['P', page.ref],
  ]);
  if (placement) {
    const [originX, originY] = page.mediaBox ?? [0, 0];
    rect = [originX + placement.x, originY + placement.y, originX + placement.x + placement.width, originY + placement.y + placement.height];
    const appearanceRef = update.allocate();
    update.put(appearanceRef, input.appearance(placement.width, placement.height));
    widget.set('AP', new PdfDict([['N', appearanceRef]]));
  }
  widget.set('Rect', rect);
  update.put(fieldRef, widget);

  // §12.5.2: the page lists its annotations in /Annots (a direct array or a reference to one).
  const annotsValue = page.dict.get('Annots');
  const annots = reader.resolve(annotsValue);
  if (annotsValue instanceof PdfRef && Array.isArray(annots)) {
    update.put(annotsValue, [...annots, fieldRef]);
  } else {
    const pageDict = page.dict.clone();
    pageDict.set('Annots', Array.isArray(annots) ? [...annots, fieldRef] : [fieldRef]);
    update.put(page.ref, pageDict);
  }
}
