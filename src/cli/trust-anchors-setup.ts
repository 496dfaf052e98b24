import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TrustAnchors } from '../crypto/verify/certificate-trust.js';

/**
 * What POST /v1/verify trusts: this service's own roots (those /pki/ca.pem serves) and the
 * certificates of `--trust-anchors`, a PEM file (relative to the work folder). A file that cannot be
 * read or holds no certificate stops the start: verifying against fewer anchors than configured would
 * call good signatures untrusted without saying why.
 */
export async function setUpTrustAnchors(ownAnchorsPem: string, workFolder: string, file: string | undefined): Promise<{ anchors: TrustAnchors; pem: string }> {
  if (!file) return { anchors: TrustAnchors.fromPem(ownAnchorsPem), pem: ownAnchorsPem };
  const location = path.resolve(workFolder, file);
  let pem: string;
  try {
    pem = await readFile(location, 'latin1');
  } catch (error) {
    throw new Error(`--trust-anchors: ${location} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let extra: TrustAnchors;
  try {
    extra = TrustAnchors.fromPem(pem);
  } catch (error) {
    throw new Error(`--trust-anchors: ${location} holds a certificate that cannot be read (${(error as Error).message})`);
  }
  if (extra.size === 0) throw new Error(`--trust-anchors: ${location} holds no "-----BEGIN CERTIFICATE-----" block`);
  const all = `${ownAnchorsPem}\n${pem}`;
  return { anchors: TrustAnchors.fromPem(all), pem: all };
}
