import { createHash } from 'node:crypto';
import { PdfDict, PdfRef, PdfStream, isName, name, type PdfObject } from '../objects.js';
import { asDocumentError } from '../pdf-error.js';
import { readDss } from '../reader/document-security-store.js';
import { decodeStream } from '../reader/filters.js';
import { PdfReader } from '../reader/pdf-reader.js';
import { IncrementalUpdate } from '../writer/incremental-update.js';

/*
 * The document security store (ISO 32000-2 §12.8.4.3 Table 261; ETSI EN 319 142-1 §5.4.2): the catalog's
 * /DSS holds validation data for the document's signatures — /Certs, /CRLs and /OCSPs as arrays of
 * streams whose data is the DER object — and /VRI, a dictionary keyed by the signature it is for
 * (Table 262). Written by an incremental update; an existing DSS is extended, never rewritten away.
 */

export interface DssAddition {
  /**
   * The /Contents string values (every byte, padding included) of the signatures or document
   * time-stamps this data is for; each gets a /VRI entry listing the certificates, CRLs and OCSP responses below.
   */
  signatureContents: Buffer[];
  /** DER certificates. */
  certificates: Buffer[];
  /** DER CRLs. */
  crls: Buffer[];
  /** DER OCSPResponses (RFC 6960 §4.2.1; ISO 32000-2 Table 261 /OCSPs). */
  ocsps: Buffer[];
}

/**
 * Appends an incremental update (ISO 32000-1 §7.5.6) that adds `additions` to the document's DSS,
 * creating the DSS when there is none: every object once, and for each addition a VRI entry per
 * signature it names, listing that addition's objects. Certificates, CRLs and OCSP responses the DSS
 * already holds (same bytes) are not stored twice. The answer is `pdf` unchanged followed by the update.
 */
export function appendDss(pdf: Buffer, additions: DssAddition | readonly DssAddition[]): Buffer {
  return Buffer.concat(appendDssParts(pdf, additions));
}

/** appendDss as pieces to store one after the other — `pdf` (or its start) and the update — without copying `pdf`. */
export function appendDssParts(pdf: Buffer | PdfReader, additions: DssAddition | readonly DssAddition[]): Buffer[] {
  const list = Array.isArray(additions) ? (additions as readonly DssAddition[]) : [additions as DssAddition];
  return asDocumentError(() => {
    // A reader its caller opened already (pades-levels.ts) is not opened a second time.
    const reader = pdf instanceof PdfReader ? pdf : PdfReader.open(pdf);
    const update = new IncrementalUpdate(reader);
    const catalog = reader.catalog().clone();
    let catalogChanged = false;

    const dssValue = catalog.get('DSS');
    const dssRef = dssValue instanceof PdfRef ? dssValue : undefined;
    const existing = reader.resolve(dssValue);
    const dss = existing instanceof PdfDict ? existing.clone() : new PdfDict([['Type', name('DSS')]]);

    const stored = (key: string, pick: (addition: DssAddition) => Buffer[]) => {
      const objects = list.flatMap(pick);
      const refs = addStreams(reader, update, dss, key, objects);
      const byBytes = new Map(objects.map((der, index) => [der.toString('base64'), refs[index]!]));
      return (addition: DssAddition) => pick(addition).map((der) => byBytes.get(der.toString('base64'))!);
    };
    const certificateRefs = stored('Certs', (addition) => addition.certificates);
    const crlRefs = stored('CRLs', (addition) => addition.crls);
    const ocspRefs = stored('OCSPs', (addition) => addition.ocsps);

    // Table 262: one VRI dictionary per signature, keyed by the uppercase hex SHA-1 of its /Contents.
    const vriValue = dss.get('VRI');
    const vriRef = vriValue instanceof PdfRef ? vriValue : undefined;
    const existingVri = reader.resolve(vriValue);
    const vri = existingVri instanceof PdfDict ? existingVri.clone() : new PdfDict();
    for (const addition of list) {
      for (const contents of addition.signatureContents) {
        const key = vriKey(contents);
        const current = reader.resolve(vri.get(key));
        const entry = current instanceof PdfDict ? current.clone() : new PdfDict([['Type', name('VRI')]]);
        mergeRefs(reader, entry, 'Cert', certificateRefs(addition));
        mergeRefs(reader, entry, 'CRL', crlRefs(addition));
        mergeRefs(reader, entry, 'OCSP', ocspRefs(addition));
        const entryValue = vri.get(key);
        if (entryValue instanceof PdfRef && current instanceof PdfDict) update.put(entryValue, entry);
        else vri.set(key, entry);
      }
    }
    if (vriRef && existingVri instanceof PdfDict) update.put(vriRef, vri);
    else if (vri.entries.size > 0) dss.set('VRI', vri);

    if (dssRef && existing instanceof PdfDict) {
      update.put(dssRef, dss);
    } else {
      const ref = update.allocate();
      update.put(ref, dss);
      catalog.set('DSS', ref);
      catalogChanged = true;
    }
    if (declareEsicExtension(reader, update, catalog)) catalogChanged = true;
    if (catalogChanged) update.put(reader.catalogRef, catalog);

    const appended = update.build();
    return [reader.buffer.subarray(0, appended.start), appended.bytes];
  });
}

/** What of `data` the document's DSS does not hold yet (same bytes). */
export function notYetInDss(data: { certificates: Buffer[]; crls: Buffer[]; ocsps: Buffer[] }, reader: PdfReader): { certificates: Buffer[]; crls: Buffer[]; ocsps: Buffer[] } {
  const dss = readDss(reader);
  const absent = (stored: Buffer[] | undefined) => (der: Buffer) => !stored?.some((present) => present.equals(der));
  return {
    certificates: data.certificates.filter(absent(dss?.certificates)),
    crls: data.crls.filter(absent(dss?.crls)),
    ocsps: data.ocsps.filter(absent(dss?.ocsps)),
  };
}

/** §12.8.4.4 Table 262 / ETSI EN 319 142-1 §5.4.2.2: the VRI key of a signature, from its /Contents value. */
export function vriKey(signatureContents: Buffer): string {
  return createHash('sha1').update(signatureContents).digest('hex').toUpperCase();
}

/**
 * Adds each DER object to the DSS array `key` as a stream (§7.3.8, unfiltered: DER hardly compresses)
 * unless an identical one is there; returns the references of all of `objects`, found or new. An
 * indirect array is updated in place, a direct one replaced in the (cloned) DSS dictionary.
 */
function addStreams(reader: PdfReader, update: IncrementalUpdate, dss: PdfDict, key: string, objects: Buffer[]): PdfRef[] {
  const arrayValue = dss.get(key);
  const arrayRef = arrayValue instanceof PdfRef ? arrayValue : undefined;
  const existing = reader.resolve(arrayValue);
  const items: PdfObject[] = Array.isArray(existing) ? [...existing] : [];
  const known = new Map<string, PdfRef>();
  for (const item of items) {
    if (!(item instanceof PdfRef)) continue;
    const stream = reader.resolve(item);
    if (!(stream instanceof PdfStream)) continue;
    try {
      known.set(decodeStream(stream).toString('base64'), item);
    } catch {
      // A stream we cannot decode is kept as it is; at worst the object is stored twice.
    }
  }
  const refs: PdfRef[] = [];
  let added = false;
  for (const der of objects) {
    const id = der.toString('base64');
    let ref = known.get(id);
    if (!ref) {
      ref = update.allocate();
      update.put(ref, new PdfStream(new PdfDict(), der, 0, der.length));
      known.set(id, ref);
      items.push(ref);
      added = true;
    }
    refs.push(ref);
  }
  if (added) {
    if (arrayRef && Array.isArray(existing)) update.put(arrayRef, items);
    else dss.set(key, items);
  }
  return refs;
}

/** Adds `refs` to the VRI entry's array `key` (Table 262 /Cert, /CRL), without duplicates. */
function mergeRefs(reader: PdfReader, entry: PdfDict, key: string, refs: PdfRef[]): void {
  if (refs.length === 0) return;
  const current = reader.resolve(entry.get(key));
  const items: PdfObject[] = Array.isArray(current) ? [...current] : [];
  for (const ref of refs) {
    if (!items.some((item) => item instanceof PdfRef && item.num === ref.num)) items.push(ref);
  }
  entry.set(key, items);
}

/**
 * ETSI EN 319 142-1 §5.4.1 (and ETSI TS 102 778-4 Annex A): a document older than PDF 2.0 that uses the
 * DSS or document time-stamps declares the developer extension /ESIC, BaseVersion 1.7, ExtensionLevel 1,
 * in the catalog's /Extensions (ISO 32000-1 §7.12). Returns true when the (cloned) catalog was changed.
 */
function declareEsicExtension(reader: PdfReader, update: IncrementalUpdate, catalog: PdfDict): boolean {
  const version = reader.resolve(catalog.get('Version'));
  const effective = isName(version) && version.value > reader.headerVersion ? version.value : reader.headerVersion;
  if (effective >= '2.0') return false;
  const extensionsValue = catalog.get('Extensions');
  const existing = reader.resolve(extensionsValue);
  const extensions = existing instanceof PdfDict ? existing.clone() : new PdfDict();
  if (extensions.has('ESIC')) return false;
  extensions.set(
    'ESIC',
    new PdfDict([
      ['Type', name('DeveloperExtensions')],
      ['BaseVersion', name('1.7')],
      ['ExtensionLevel', 1],
    ]),
  );
  if (extensionsValue instanceof PdfRef && existing instanceof PdfDict) {
    update.put(extensionsValue, extensions);
    return false;
  }
  catalog.set('Extensions', extensions);
  return true;
}
