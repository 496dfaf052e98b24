import { PdfString } from '../objects.js';
import { invalidPdf } from '../pdf-error.js';
import type { FilledSignatureField } from '../reader/form-fields.js';

/** §12.8.1: the /Contents string, every byte (VRI keys hash it whole, padding included). */
export function contentsOf(field: FilledSignatureField): Buffer {
  const contents = field.value.get('Contents');
  if (!(contents instanceof PdfString)) throw invalidPdf(`the signature "${field.name}" has no /Contents string`);
  return contents.bytes;
}

/**
 * The DER CMS in /Contents without the zero padding after it (its length from the outer SEQUENCE
 * header). A BER CMS of indefinite length (NSS writes them: pdfsig, Firefox-era tools) is returned
 * with its padding: BER readers stop at its end-of-contents.
 */
export function cmsOf(field: FilledSignatureField): Buffer {
  return cmsInContents(contentsOf(field), field.name);
}

/** cmsOf for /Contents bytes already in hand (a signature just made); `name` names the field in errors. */
export function cmsInContents(bytes: Buffer, name: string): Buffer {
  const field = { name };
  if (bytes.length < 2 || bytes[0] !== 0x30) throw invalidPdf(`the /Contents of "${field.name}" is not a DER CMS`);
  let length = bytes[1];
  let header = 2;
  if (length === 0x80) return bytes;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw invalidPdf(`the /Contents of "${field.name}" is not a DER CMS (length form)`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i];
    header += octets;
  }
  if (header + length > bytes.length) throw invalidPdf(`the CMS in /Contents of "${field.name}" is truncated`);
  return bytes.subarray(0, header + length);
}
