import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pemCertificates, type TrustAnchorEntry } from '../crypto/verify/certificate-trust.js';
import { readTrustedList, type TrustedList } from '../crypto/trust/trusted-list.js';
import { anchorsOfList } from '../crypto/trust/trusted-list-anchors.js';
import { checkTrustedListSignature } from '../crypto/trust/trusted-list-signature.js';
import type { Logger } from '../util/logger.js';

/**
 * `--trust-list` (API.md §6, §9): ETSI TS 119 612 trusted lists — the EU list of lists or national
 * lists — as files (snapshots, relative to the work folder) or URLs (through the outbound address
 * policy). A configured list must verify against `--trust-list-signers`, else the start stops and says
 * why: a list that cannot be checked is not trusted by default. A list of lists is followed one level:
 * each pointed XML list must be signed by a certificate its pointer names; one that cannot be fetched or
 * does not verify is left out with a warning (one country's outage must not stop the service).
 */
export interface TrustListSources {
  lists: readonly string[];
  signers: readonly string[];
  workFolder: string;
  /** GET through the outbound address policy. */
  fetch: (url: string) => Promise<Buffer>;
  log: Logger;
  now?: Date;
}

export async function trustedListAnchors(sources: TrustListSources): Promise<TrustAnchorEntry[]> {
  if (sources.lists.length === 0) return [];
  if (sources.signers.length === 0) throw new Error('--trust-list needs --trust-list-signers: the certificates the lists must be signed with');
  const signers: Buffer[] = [];
  for (const signer of sources.signers) signers.push(...(await certificatesIn(path.resolve(sources.workFolder, signer))));
  const anchors: TrustAnchorEntry[] = [];
  for (const source of sources.lists) {
    const where = isUrl(source) ? source : path.resolve(sources.workFolder, source);
    const bytes = await read(where, sources).catch((error: Error) => {
      throw new Error(`--trust-list: ${where} cannot be read (${error.message})`);
    });
    let list: TrustedList;
    try {
      checkTrustedListSignature(bytes, signers);
      list = readTrustedList(bytes);
    } catch (error) {
      throw new Error(`--trust-list: ${where} is refused: ${(error as Error).message}`);
    }
    warnIfStale(list, where, sources);
    anchors.push(...anchorsOfList(list, where));
    for (const pointer of list.pointers) {
      if (pointer.mimeType && !/xml/i.test(pointer.mimeType)) continue; // the same list as PDF, for people
      try {
        const pointedBytes = await read(pointer.location, sources);
        checkTrustedListSignature(pointedBytes, pointer.signerCertificates);
        const pointed = readTrustedList(pointedBytes);
        warnIfStale(pointed, pointer.location, sources);
        anchors.push(...anchorsOfList(pointed, pointer.location));
      } catch (error) {
        sources.log.warn({ list: pointer.location, territory: pointer.territory, reason: (error as Error).message }, 'a trusted list the list of lists points to is left out');
      }
    }
  }
  sources.log.info({ anchors: anchors.length, lists: sources.lists.length }, 'trusted lists read');
  return anchors;
}

async function read(location: string, sources: TrustListSources): Promise<Buffer> {
  return isUrl(location) ? sources.fetch(location) : readFile(location);
}

function isUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

function warnIfStale(list: TrustedList, where: string, sources: TrustListSources): void {
  const now = sources.now ?? new Date();
  if (list.nextUpdate && list.nextUpdate < now) {
    sources.log.warn({ list: where, nextUpdate: list.nextUpdate.toISOString() }, 'a trusted list is past its next update: a newer one should be configured');
  }
}

async function certificatesIn(file: string): Promise<Buffer[]> {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`--trust-list-signers: ${file} cannot be read (${error.code ?? error.message})`);
  });
  try {
    const blocks = pemCertificates(bytes.toString('latin1'));
    return blocks.length > 0 ? blocks.map((block) => new X509Certificate(block).raw) : [new X509Certificate(bytes).raw];
  } catch (error) {
    throw new Error(`--trust-list-signers: ${file} is not a certificate in PEM or DER (${(error as Error).message})`);
  }
}
