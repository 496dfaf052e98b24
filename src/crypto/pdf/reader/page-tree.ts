import { PdfDict, PdfRef, isName, type PdfObject } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import type { PdfReader } from './pdf-reader.js';

/** A page object and the attributes it inherits from its ancestors (§7.7.3.4). */
export interface PageInfo {
  ref: PdfRef;
  dict: PdfDict;
  /** Zero-based. */
  index: number;
  /** MediaBox (required by §7.7.3.3, inheritable); undefined when the file lacks it. */
  mediaBox?: number[];
  /** /Rotate, inheritable, a multiple of 90 (default 0). */
  rotate: number;
  /** /Resources (required, inheritable), as found: a dictionary or a reference to one; undefined when absent. */
  resources?: PdfObject;
}

/** More page-tree nodes than this is an attack, not a document. */
const MAX_NODES = 1_000_000;

/**
 * Walks the page tree (ISO 32000-1 §7.7.3) from the catalog's /Pages and answers page `pageIndex`
 * (zero-based; undefined when the document has fewer pages), with the number of pages.
 *
 * Every node is remembered, iteratively: a node or page reached twice (a loop, or a subtree shared by two
 * parents, which §7.7.3.2 does not allow) makes the file invalid_pdf instead of a hang or a stack overflow.
 * A node whose /Count equals its number of kids has only pages below it; those are counted without being
 * parsed, except the one asked for, which must then be a page. So a 1,000-page document costs the parse
 * of its few dozen intermediate nodes, not of every page; if such a /Count lies, no loop can hide below it
 * because nothing below it is followed.
 */
export function findPage(reader: PdfReader, pageIndex: number): { page?: PageInfo; pageCount: number } {
  const catalog = reader.catalog();
  const rootRef = catalog.get('Pages');
  if (!(rootRef instanceof PdfRef)) throw invalidPdf('the catalog has no /Pages reference (§7.7.2)');

  interface Pending {
    ref: PdfRef;
    parent?: Inherited;
  }
  const seen = new Set<number>();
  const visit = (ref: PdfRef) => {
    if (seen.has(ref.num)) throw invalidPdf(`the page tree reaches object ${ref.num} twice (a loop or a shared node)`);
    seen.add(ref.num);
    if (seen.size > MAX_NODES) throw invalidPdf(`the page tree has more than ${MAX_NODES} nodes`);
  };
  // Depth-first, left to right.
  const stack: Pending[] = [{ ref: rootRef }];
  let count = 0;
  let found: PageInfo | undefined;
  const foundAt = (ref: PdfRef, dict: PdfDict, inherited: Inherited) => {
    found = { ref, dict, index: pageIndex, mediaBox: inherited.mediaBox?.length === 4 ? inherited.mediaBox : undefined, rotate: normaliseRotation(inherited.rotate ?? 0), resources: inherited.resources };
  };
  while (stack.length > 0) {
    const { ref, parent } = stack.pop()!;
    visit(ref);
    const node = reader.getObject(ref);
    if (!(node instanceof PdfDict)) throw invalidPdf(`page tree node ${ref.num} is not a dictionary`);
    const inherited = inherit(reader, node, parent);
    if (!isPagesNode(reader, node)) {
      assertPage(node, ref, parent === undefined);
      if (count === pageIndex) foundAt(ref, node, inherited);
      count++;
      continue;
    }
    const kids = reader.resolve(node.get('Kids'));
    if (!Array.isArray(kids)) throw invalidPdf(`page tree node ${ref.num} has no /Kids array`);
    for (const kid of kids) if (!(kid instanceof PdfRef)) throw invalidPdf(`page tree node ${ref.num} has a kid that is not a reference`);
    const kidRefs = kids as PdfRef[];
    if (reader.resolve(node.get('Count')) === kidRefs.length) {
      // Only pages below: count them, parse only the one asked for.
      for (const kid of kidRefs) visit(kid);
      const wanted = pageIndex - count;
      if (!found && wanted >= 0 && wanted < kidRefs.length) {
        const page = reader.getObject(kidRefs[wanted]);
        if (!(page instanceof PdfDict) || isPagesNode(reader, page)) {
          throw invalidPdf(`page tree node ${ref.num} has /Count ${kidRefs.length} but object ${kidRefs[wanted].num} is not a page`);
        }
        assertPage(page, kidRefs[wanted], false);
        foundAt(kidRefs[wanted], page, inherit(reader, page, inherited));
      }
      count += kidRefs.length;
      continue;
    }
    for (let i = kidRefs.length - 1; i >= 0; i--) stack.push({ ref: kidRefs[i], parent: inherited });
  }
  if (count === 0) throw invalidPdf('the page tree has no pages');
  return { page: found, pageCount: count };
}

/**
 * Every page in order, each with what it inherits, in one walk of the tree: for reading all pages
 * (a text search). findPage per index would walk the tree again for each page — quadratic in the
 * page count, which a file of many empty pages turns into a hang. Loops and shared nodes are
 * invalid_pdf, as in findPage; no page tree makes it invalid_pdf too.
 */
export function* eachPage(reader: PdfReader): Generator<PageInfo> {
  const rootRef = reader.catalog().get('Pages');
  if (!(rootRef instanceof PdfRef)) throw invalidPdf('the catalog has no /Pages reference (§7.7.2)');
  const seen = new Set<number>();
  const stack: Array<{ ref: PdfRef; parent?: Inherited }> = [{ ref: rootRef }];
  let index = 0;
  while (stack.length > 0) {
    const { ref, parent } = stack.pop()!;
    if (seen.has(ref.num)) throw invalidPdf(`the page tree reaches object ${ref.num} twice (a loop or a shared node)`);
    seen.add(ref.num);
    if (seen.size > MAX_NODES) throw invalidPdf(`the page tree has more than ${MAX_NODES} nodes`);
    const node = reader.getObject(ref);
    if (!(node instanceof PdfDict)) throw invalidPdf(`page tree node ${ref.num} is not a dictionary`);
    const inherited = inherit(reader, node, parent);
    if (!isPagesNode(reader, node)) {
      assertPage(node, ref, parent === undefined);
      const { mediaBox, rotate, resources } = inherited;
      yield { ref, dict: node, index: index++, mediaBox: mediaBox?.length === 4 ? mediaBox : undefined, rotate: normaliseRotation(rotate ?? 0), resources };
      continue;
    }
    const kids = reader.resolve(node.get('Kids'));
    if (!Array.isArray(kids) || !kids.every((kid) => kid instanceof PdfRef)) {
      throw invalidPdf(`page tree node ${ref.num} has no /Kids array of references`);
    }
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ ref: kids[i] as PdfRef, parent: inherited });
  }
  if (index === 0) throw invalidPdf('the page tree has no pages');
}

interface Inherited {
  mediaBox?: number[];
  rotate?: number;
  resources?: PdfObject;
}

/** §7.7.3.4: MediaBox, Rotate and Resources (among others) are inherited from the nearest ancestor that has them. */
function inherit(reader: PdfReader, node: PdfDict, parent: Inherited | undefined): Inherited {
  const resources = node.get('Resources');
  return {
    mediaBox: numberArray(reader.resolve(node.get('MediaBox'))) ?? parent?.mediaBox,
    rotate: numberOf(reader.resolve(node.get('Rotate'))) ?? parent?.rotate,
    // Kept unresolved: only a text search reads it, and most callers never do.
    resources: resources ?? parent?.resources,
  };
}

/**
 * A leaf of the page tree must be a page (§7.7.3.3: /Type /Page; one without /Type is taken for a
 * page, as viewers do), and the root a page tree node. Anything else — a font, an image, the catalog —
 * means the file's objects do not resolve to what they claim (an object stream that maps its objects
 * to the wrong index, a wrong xref offset): a signature added to it would land in a document no viewer
 * can show, so it is invalid_pdf.
 */
function assertPage(node: PdfDict, ref: PdfRef, isRoot: boolean): void {
  if (isRoot) throw invalidPdf(`the catalog's /Pages (object ${ref.num}) is not a page tree node (it has no /Kids)`);
  const type = node.get('Type');
  if (type !== undefined && !isName(type, 'Page')) {
    throw invalidPdf(`the page tree leads to object ${ref.num}, which is ${describeType(type)}, not a page: its objects do not resolve to what they claim`);
  }
}

function describeType(type: PdfObject): string {
  return isName(type) ? `a /${type.value}` : 'not a named type';
}

/** §7.7.3.2: /Type /Pages; a node without /Type but with /Kids is taken for one too. */
function isPagesNode(reader: PdfReader, node: PdfDict): boolean {
  const type = node.get('Type');
  return isName(type, 'Pages') || (!isName(type, 'Page') && Array.isArray(reader.resolve(node.get('Kids'))));
}

function numberArray(value: PdfObject | undefined): number[] | undefined {
  return Array.isArray(value) && value.every((n) => typeof n === 'number') ? (value as number[]) : undefined;
}

function numberOf(value: PdfObject | undefined): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function normaliseRotation(rotate: number): number {
  return (((Math.round(rotate / 90) * 90) % 360) + 360) % 360;
}
