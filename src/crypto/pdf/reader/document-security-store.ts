import { PdfDict, PdfStream, type PdfObject } from '../objects.js';
import { decodeStream } from './filters.js';
import type { PdfReader } from './pdf-reader.js';

/*
 * The document security store (ISO 32000-2 §12.8.4.3; ETSI EN 319 142-1 §5.4.2), read: the catalog's
 * /DSS with its certificates, CRLs, OCSP responses and /VRI entries. Written by pades/dss.ts.
 */

/** What a DSS holds, read back (tests and verifiers). */
export interface DssContent {
  certificates: Buffer[];
  crls: Buffer[];
  ocsps: Buffer[];
  /** VRI keys (uppercase hex SHA-1) with the certificates and CRLs their entries list. */
  vri: Map<string, { certificates: Buffer[]; crls: Buffer[] }>;
}

/** The document's DSS read back, or undefined when it has none. */
export function readDss(reader: PdfReader): DssContent | undefined {
  const dss = reader.getDict(reader.catalog(), 'DSS');
  if (!dss) return undefined;
  const streams = (value: PdfObject | undefined): Buffer[] => {
    const array = reader.resolve(value);
    if (!Array.isArray(array)) return [];
    return array.flatMap((item) => {
      const stream = reader.resolve(item);
      return stream instanceof PdfStream ? [decodeStream(stream)] : [];
    });
  };
  const vri = new Map<string, { certificates: Buffer[]; crls: Buffer[] }>();
  const vriDict = reader.getDict(dss, 'VRI');
  for (const [key, value] of vriDict?.entries ?? []) {
    const entry = reader.resolve(value);
    if (entry instanceof PdfDict) vri.set(key, { certificates: streams(entry.get('Cert')), crls: streams(entry.get('CRL')) });
  }
  return { certificates: streams(dss.get('Certs')), crls: streams(dss.get('CRLs')), ocsps: streams(dss.get('OCSPs')), vri };
}

