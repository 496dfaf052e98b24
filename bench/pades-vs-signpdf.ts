/**
 * PAdES-B-B on a ~200 KB PDF: Signet's signPdf against the best Node peer, @signpdf
 * (placeholder-plain + signpdf), measured in the same run, one thread each. The peer gets a "native"
 * CMS signer — Signet's own CAdES builder — so the comparison is of the PDF work (reading, placeholder,
 * byte ranges, embedding), not of node-forge. Signet is measured twice: as the service uses it
 * (signPdfDetailed: the original and the update as two buffers, which the blob store writes with one
 * writev) and joined into one buffer (signPdf), as @signpdf answers. Prints figures and ratios; not a test.
 *
 *   node --import tsx bench/pades-vs-signpdf.ts [seconds per measurement, default 3]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainAddPlaceholder } from '@signpdf/placeholder-plain';
import { SignPdf, Signer } from '@signpdf/signpdf';
import { SUBFILTER_ETSI_CADES_DETACHED } from '@signpdf/utils';
import { createCadesDetachedSignature } from '../src/crypto/cms/cades-detached.js';
import { ensureDevelopmentPki } from '../src/crypto/devca/development-pki.js';
import type { Signer as SignetSigner } from '../src/crypto/keys/signer.js';
import { signPdf, signPdfDetailed } from '../src/crypto/pdf/pades/sign-pdf.js';
import { generatedPdf } from './support/generated-pdf.js';

const SECONDS = Number(process.argv[2] ?? 3);

/** @signpdf's Signer contract: the bytes of the byte ranges in, a CMS out. */
class NativeCadesSigner extends Signer {
  constructor(private readonly signer: SignetSigner) {
    super();
  }
  async sign(pdfBuffer: Buffer): Promise<Buffer> {
    return createCadesDetachedSignature({ messageDigest: createHash('sha256').update(pdfBuffer).digest(), signer: this.signer });
  }
}

async function perSecond(operation: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await operation();
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    await operation();
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}

const folder = mkdtempSync(join(tmpdir(), 'signet-bench-'));
try {
  const pki = await ensureDevelopmentPki(folder);
  const pdf = generatedPdf();
  const peer = new SignPdf();
  const peerSigner = new NativeCadesSigner(pki.signer);
  const signetParts = () => signPdfDetailed(pdf, { signer: pki.signer, signingTime: new Date() });
  const signetJoined = () => signPdf(pdf, { signer: pki.signer, signingTime: new Date() });
  const signpdf = async () => {
    const withPlaceholder = plainAddPlaceholder({
      pdfBuffer: pdf,
      reason: 'bench',
      contactInfo: '',
      name: 'bench',
      location: '',
      signatureLength: 16_384,
      subFilter: SUBFILTER_ETSI_CADES_DETACHED,
    });
    return peer.sign(withPlaceholder, peerSigner);
  };
  // Interleaved rounds, median of three, so a busy neighbour skews every side alike.
  const rounds: Array<[number, number, number]> = [];
  for (let round = 0; round < 3; round++) rounds.push([await perSecond(signetParts), await perSecond(signetJoined), await perSecond(signpdf)]);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1];
  const [parts, joined, theirs] = [0, 1, 2].map((side) => median(rounds.map((r) => r[side])));
  console.log(`PAdES-B-B, ${(pdf.length / 1024).toFixed(0)} KB PDF, RSA-2048, one thread, median of 3 interleaved rounds of ${SECONDS} s`);
  console.log(`  signet signPdfDetailed (two buffers):    ${parts.toFixed(0)}/s`);
  console.log(`  signet signPdf (one buffer):             ${joined.toFixed(0)}/s`);
  console.log(`  @signpdf placeholder-plain + signpdf:    ${theirs.toFixed(0)}/s (same CMS builder)`);
  console.log(`  ratio signet / @signpdf:                 ${(parts / theirs).toFixed(1)}× (two buffers), ${(joined / theirs).toFixed(1)}× (one buffer)`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}
