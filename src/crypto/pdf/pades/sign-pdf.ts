import { SignetError } from '../../../errors/signet-error.js';
import type { Signer } from '../../keys/signer.js';
import type { PdfRef } from '../objects.js';
import { asDocumentError } from '../pdf-error.js';
import { assertNoDuplicateObjects } from '../reader/duplicate-objects.js';
import { findText } from '../reader/find-text.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { IncrementalUpdate } from '../writer/incremental-update.js';
import { signatureAppearance } from './appearance.js';
import { assertSigningPermitted } from './docmdp.js';
import { padesCmsFactory, type PadesCmsFactory } from './pades-cms.js';
import { pdfaPart } from './pdfa.js';
import { decodeImageBase64, type StampImage } from './image-xobject.js';
import { jpegImage } from './jpeg-image.js';
import { pngImage } from './png-image.js';
import { prepareSignatureField, type FieldPlacement } from './signature-field.js';
import { fillByteRange, layOutByteRangeUpdate, type LaidOutFile, type PdfParts } from './byte-range.js';

/**
 * API.md §3 `visible`: page is 1-based; x, y, width, height in PDF points from the page's lower-left
 * corner. Instead of page, x and y, `placeholder` names a text shown on a page: the stamp's lower-left
 * corner goes to the baseline origin of its first occurrence (reader/find-text.ts).
 */
export interface VisibleSignature {
  page?: number;
  x?: number;
  y?: number;
  placeholder?: string;
  width: number;
  height: number;
  text?: string;
  /** A PNG drawn left of the text (or alone), base64 as API.md gives it, or bytes. */
  imagePng?: string | Buffer;
  /** A JPEG, the same way (embedded as it is, DCTDecode); at most one of imagePng and imageJpeg. */
  imageJpeg?: string | Buffer;
}

export type { PadesCmsFactory } from './pades-cms.js';

export interface SignPdfOptions {
  signer: Signer;
  /** Goes into the signature dictionary's /M (the CMS carries no signingTime: EN 319 142-1 §6.3). */
  signingTime: Date;
  reason?: string;
  location?: string;
  contactInfo?: string;
  visible?: VisibleSignature;
  /** Name of a new signature field; default "Signature<n>". Ignored when an empty field is filled. */
  fieldName?: string;
  /** Sign into this existing empty signature field (fully qualified name); fails if the PDF lacks it. */
  existingField?: string;
  /** Default: `padesCmsFactory(signer)`, B-B. For B-T: `padesCmsFactory(signer, { timestampClient })`. */
  createCms?: PadesCmsFactory;
  /**
   * Bytes reserved for the CMS in /Contents. Default: the signer's certificates plus room for the
   * signed attributes, a 4096-bit signature value and a signature-timestamp token with its chain. A
   * CMS that does not fit is not an error: the file is laid out again with room for it.
   */
  contentsCapacity?: number;
}

export type { PdfParts } from './byte-range.js';

export interface SignedPdf {
  /** The original bytes and the update, in file order (see PdfParts: not joined, to save a copy). */
  parts: PdfParts;
  /** The fully qualified name of the signature field that holds the signature. */
  fieldName: string;
  byteRange: [number, number, number, number];
  /**
   * /Contents as the file holds it (the CMS and its zero padding), decoded from the update: B-LT needs
   * it (the DSS's VRI key, the CMS's certificates) and reading it back by parsing the file again cost
   * a fifth of B-LT's extra time (bench/long-term.ts).
   */
  signatureContents(): Buffer;
}

/** What a signature-timestamp token with its TSA chain needs at most in practice (D-TRUST's is 6.7 KB). */
const TIMESTAMP_ALLOWANCE = 8 * 1024;
/** Signed attributes, SignedData framing and a signature value up to RSA-4096. */
const CMS_OVERHEAD = 2 * 1024;

/**
 * Signs a PDF as PAdES (ETSI EN 319 142-1 baseline; B-B with the default CMS factory) by one
 * incremental update (ISO 32000-1 §7.5.6): the answer is the original bytes, unchanged, followed by
 * the update holding the signature field, its signature dictionary and the new cross-reference section.
 *
 * Measured with bench/pades.ts (generated 200 KB PDF, RSA-2048, Node 20, 2 cores shared with other
 * work, 2026-11-23): 0.52 ms per signature on one thread (1,910/s), of which the PDF part (read,
 * field, update, SHA-256 of 200 KB) is 0.22 ms and the rest the CMS with its RSA signature; the bare
 * crypto.sign over the same 200 KB is 0.37 ms. Two worker threads: 3,320–3,440/s. The signed file
 * comes as two buffers (`SignedPdf.parts`); joining them is signPdf's one copy.
 *
 * Throws SignetError: invalid_pdf / encrypted_pdf for documents it cannot sign, unsupported_format
 * for a certified document that allows no changes, invalid_request for a visible stamp on a page the
 * document does not have or with text on a PDF/A document, placeholder_not_found when the text a
 * stamp should be placed at is not on any page.
 */
export async function signPdf(pdf: Buffer, options: SignPdfOptions): Promise<Buffer> {
  return Buffer.concat((await signPdfDetailed(pdf, options)).parts);
}

export async function signPdfDetailed(pdf: Buffer, options: SignPdfOptions): Promise<SignedPdf> {
  const createCms = options.createCms ?? padesCmsFactory(options.signer);
  const reader = readForSigning(pdf);
  if (options.visible?.text?.trim()) assertTextAllowed(reader);
  const image = stampImage(options.visible);
  // Resolved once: the layout below may run twice (a CMS larger than the room reserved).
  const placement = asDocumentError(() => placementOf(reader, options.visible));
  const capacity = options.contentsCapacity ?? defaultContentsCapacity(options.signer);
  const signed = await fillByteRange((room) => prepare(reader, options, room, placement, image), capacity, createCms);
  const { parts, byteRange } = signed;
  return {
    parts,
    fieldName: signed.fieldName,
    byteRange,
    // The hex between `<` (at byteRange[1]) and `>` (just before byteRange[2]), always inside the update.
    signatureContents: () => Buffer.from(parts[1].toString('latin1', byteRange[1] + 1 - parts[0].length, byteRange[2] - 1 - parts[0].length), 'hex'),
  };
}

/**
 * Opens the document and checks it can be signed. Anything unexpected while reading a hostile file
 * (a RangeError from a wild offset, …) is the document's fault, so it becomes invalid_pdf rather than
 * an internal error.
 */
function readForSigning(pdf: Buffer): PdfReader {
  return asDocumentError(() => {
    const reader = PdfReader.open(pdf);
    assertNoDuplicateObjects(pdf);
    assertSigningPermitted(reader);
    return reader;
  });
}

/**
 * The stamp text is drawn in Helvetica, which is not embedded: fine in a plain PDF, a conformance
 * violation in PDF/A (ISO 19005-2 §6.2.11.4.1). Until a font is embedded, such documents are refused
 * rather than silently made non-conformant or stamped without the text asked for.
 */
function assertTextAllowed(reader: PdfReader): void {
  const part = asDocumentError(() => pdfaPart(reader));
  if (part !== undefined) {
    throw new SignetError(
      'invalid_request',
      `The document is PDF/A-${part}; a visible stamp with text would need an embedded font, which is not supported yet. ` +
        'Sign it without visible.text (a framed stamp) or invisibly.',
      { field: 'visible.text' },
    );
  }
}

function prepare(
  reader: PdfReader,
  options: SignPdfOptions,
  capacity: number,
  placement: FieldPlacement | undefined,
  image: StampImage | undefined,
): LaidOutFile {
  return asDocumentError(() => {
    const update = new IncrementalUpdate(reader);
    const signatureRef = update.allocate();
    let imageRef: PdfRef | undefined;
    if (image) {
      imageRef = update.allocate();
      update.put(imageRef, image.xobject);
    }
    const field = prepareSignatureField(reader, update, {
      signatureRef,
      placement,
      // A requested stamp is framed; a field the document had gets an empty appearance (see appearance.ts).
      appearance: (width, height) =>
        signatureAppearance(
          width,
          height,
          options.visible
            ? { text: options.visible.text, frame: true, image: image && imageRef && { ref: imageRef, width: image.width, height: image.height } }
            : {},
        ),
      fieldName: options.fieldName,
      existingField: options.existingField,
    });
    return layOutByteRangeUpdate(
      reader,
      update,
      signatureRef,
      {
        signingTime: options.signingTime,
        reason: options.reason,
        location: options.location,
        contactInfo: options.contactInfo,
        contentsCapacity: capacity,
      },
      field.name,
    );
  });
}

function placementOf(reader: PdfReader, visible: VisibleSignature | undefined): FieldPlacement | undefined {
  if (!visible) return undefined;
  if (visible.placeholder !== undefined) return placeholderPlacement(reader, visible);
  const { page, x, y, width, height } = visible;
  if (typeof page !== 'number' || !Number.isInteger(page) || page < 1) {
    throw new SignetError('invalid_request', 'visible.page must be a page number starting at 1', { field: 'visible.page' });
  }
  for (const [key, value] of Object.entries({ x, y, width, height })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || ((key === 'width' || key === 'height') && value <= 0)) {
      throw new SignetError('invalid_request', `visible.${key} must be a ${key === 'width' || key === 'height' ? 'positive ' : ''}number of points`, {
        field: `visible.${key}`,
      });
    }
  }
  return { pageIndex: page - 1, x: x as number, y: y as number, width, height };
}

/**
 * The stamp at a text of the page content (Sign'Stash PLACEHOLDER): its lower-left corner at the
 * baseline origin of the text's first occurrence, its size as given. A document without the text
 * fails with placeholder_not_found.
 */
function placeholderPlacement(reader: PdfReader, visible: VisibleSignature): FieldPlacement {
  const { placeholder, width, height } = visible;
  if (typeof placeholder !== 'string' || placeholder.trim() === '') {
    throw new SignetError('invalid_request', 'visible.placeholder must be a non-empty text', { field: 'visible.placeholder' });
  }
  if (visible.page !== undefined || visible.x !== undefined || visible.y !== undefined) {
    throw new SignetError('invalid_request', 'visible.placeholder places the stamp itself; send it without page, x and y', {
      field: 'visible.placeholder',
    });
  }
  for (const [key, value] of Object.entries({ width, height })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SignetError('invalid_request', `visible.${key} must be a positive number of points`, { field: `visible.${key}` });
    }
  }
  const { position, pageCount, complete } = findText(reader, placeholder);
  if (!position) {
    throw new SignetError(
      'placeholder_not_found',
      `The placeholder "${placeholder}" is not in the text of the PDF (${pageCount} page${pageCount === 1 ? '' : 's'} searched` +
        `${complete ? '' : '; some content could not be read'}). Text in fonts with two-byte encodings (Type0, Identity-H) cannot be searched.`,
      { field: 'visible.placeholder' },
    );
  }
  // FieldPlacement is relative to the MediaBox's lower-left corner (signature-field.ts adds it back).
  const [originX, originY] = position.page.mediaBox ?? [0, 0];
  return { pageIndex: position.pageIndex, x: position.x - originX, y: position.y - originY, width, height };
}

function stampImage(visible: VisibleSignature | undefined): StampImage | undefined {
  if (visible?.imagePng !== undefined && visible.imageJpeg !== undefined) {
    throw new SignetError('invalid_request', 'A stamp has one image: send visible.imagePng or visible.imageJpeg, not both', { field: 'visible.imageJpeg' });
  }
  if (visible?.imagePng !== undefined) return pngImage(decodeImageBase64(visible.imagePng, 'visible.imagePng'));
  if (visible?.imageJpeg !== undefined) return jpegImage(decodeImageBase64(visible.imageJpeg, 'visible.imageJpeg'), 'visible.imageJpeg');
  return undefined;
}

function defaultContentsCapacity(signer: Signer): number {
  const certificates = signer.chainDer.reduce((sum, der) => sum + der.length, signer.certificateDer.length);
  return Math.ceil((certificates + CMS_OVERHEAD + TIMESTAMP_ALLOWANCE) / 1024) * 1024;
}
