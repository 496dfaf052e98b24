import { PdfDict, isName, type PdfObject } from '../objects.js';
import type { PdfReader } from './pdf-reader.js';

/**
 * The access permission of a certified document (ISO 32000-1 §12.8.2.2, DocMDP): the certification
 * signature's /Reference holds a signature reference dictionary with /TransformMethod /DocMDP, whose
 * /TransformParams /P is 1 (no changes), 2 (form filling and signing; the default) or 3 (also
 * annotations). Undefined when the document is not certified.
 */
export function docMdpPermission(reader: PdfReader): number | undefined {
  const perms = reader.getDict(reader.catalog(), 'Perms');
  if (!perms) return undefined;
  const signature = reader.getDict(perms, 'DocMDP');
  if (!signature) return undefined;
  const references = reader.resolve(signature.get('Reference'));
  if (!Array.isArray(references)) return 2;
  for (const item of references.slice(0, 16)) {
    const reference = reader.resolve(item);
    if (!(reference instanceof PdfDict) || !isName(reader.resolve(reference.get('TransformMethod')), 'DocMDP')) continue;
    const params = reader.resolve(reference.get('TransformParams'));
    const permission: PdfObject | undefined = params instanceof PdfDict ? reader.resolve(params.get('P')) : undefined;
    return typeof permission === 'number' ? permission : 2;
  }
  return 2;
}

