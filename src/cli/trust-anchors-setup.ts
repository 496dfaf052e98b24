import { X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { TrustAnchors, pemCertificates, type TrustAnchorEntry } from '../crypto/verify/certificate-trust.js';

/**
 * What POST /v1/verify trusts: this service's own roots (those /pki/ca.pem serves), the services of
 * the trusted lists (trust-list-setup.ts), and the certificates of `--trust-anchors`: files in PEM (any number of certificates) or DER, or folders of
 * them (`.pem`, `.crt`, `.cer`, `.der`), relative to the work folder. A path that cannot be read, or a
 * file that holds no certificate, stops the start: verifying against fewer anchors than configured
 * would call good signatures untrusted without saying why.
 */
export async function setUpTrustAnchors(
  ownAnchorsPem: string,
  workFolder: string,
  paths: readonly string[],
  fromLists: readonly TrustAnchorEntry[] = [],
): Promise<{ anchors: TrustAnchors; pem: string }> {
  const extra: string[] = [];
  for (const given of paths) {
    const location = path.resolve(workFolder, given);
    const info = await stat(location).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`--trust-anchors: ${location} cannot be read (${error.code ?? error.message})`);
    });
    const files = info.isDirectory()
      ? (await readdir(location)).filter((name) => /\.(pem|crt|cer|der)$/i.test(name)).sort().map((name) => path.join(location, name))
      : [location];
    if (files.length === 0) throw new Error(`--trust-anchors: ${location} holds no .pem, .crt, .cer or .der file`);
    for (const file of files) extra.push(...certificatesOf(await readFile(file), file));
  }
  const pem = [ownAnchorsPem, ...extra, ...fromLists.map((entry) => new X509Certificate(entry.der).toString())].join('\n');
  const configured = pemCertificates([ownAnchorsPem, ...extra].join('\n')).map((block) => new X509Certificate(block).raw);
  return { anchors: new TrustAnchors([...configured, ...fromLists]), pem };
}

/** The certificates of a file as PEM blocks: PEM as it is, or one DER certificate. */
function certificatesOf(bytes: Buffer, file: string): string[] {
  const blocks = pemCertificates(bytes.toString('latin1'));
  try {
    if (blocks.length > 0) return blocks.map((block) => new X509Certificate(block).toString());
    return [new X509Certificate(bytes).toString()];
  } catch (error) {
    throw new Error(`--trust-anchors: ${file} is not a certificate in PEM or DER (${(error as Error).message})`);
  }
}
