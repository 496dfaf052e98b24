import { X509Certificate, createHash, randomBytes, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KeySource } from './key-source.js';
import { createCscSigner, type CscTransport } from './csc-signer.js';
import { createPemSigner } from './pem-signer.js';
import { createPkcs11Signer } from './pkcs11-signer.js';
import { createPkcs12Signer } from './pkcs12-signer.js';
import { KeyMaterialError, type Signer } from './signer.js';
import type { SigningThreads } from './signing-threads.js';

/**
 * Builds the Signer a key source describes (software keys sign on `threads` when given), then proves it: one test signature verified against the
 * certificate, so a token key that does not belong to the configured certificate stops the start
 * instead of producing signatures no one can verify.
 */
export async function loadSigner(
  name: string,
  source: KeySource,
  resolveSecret: (reference: string, what: string) => Promise<string>,
  threads?: SigningThreads,
  /** How remote keys (`csc`) are reached: through the outbound address policy. */
  cscTransport?: CscTransport,
): Promise<Signer> {
  const optionalText = async (file?: string) => (file ? readFile(file, 'utf8') : undefined);
  let signer: Signer;
  switch (source.type) {
    case 'pem':
      signer = createPemSigner({
        name,
        keyPem: await readFile(source.key, 'utf8'),
        certificatePem: await readFile(source.certificate, 'utf8'),
        chainPem: await optionalText(source.chain),
        threads,
      });
      break;
    case 'pkcs12':
      signer = createPkcs12Signer({
        name,
        file: await readFile(source.file),
        password: await resolveSecret(source.password, `key "${name}" password`),
        certificatePem: await optionalText(source.certificate),
        chainPem: await optionalText(source.chain),
        threads,
      });
      break;
    case 'pkcs11':
      signer = createPkcs11Signer({
        name,
        module: source.module,
        tokenLabel: source.token,
        pin: await resolveSecret(source.pin, `key "${name}" PIN`),
        keyLabel: source.label,
        certificatePem: await optionalText(source.certificate),
        chainPem: await optionalText(source.chain),
      });
      break;
    case 'csc':
      if (!cscTransport) throw new KeyMaterialError(`Signing key "${name}": remote keys need the outbound transport`);
      signer = await createCscSigner({
        name,
        baseUrl: source.baseUrl,
        clientId: source.clientId,
        clientSecret: await resolveSecret(source.clientSecret, `key "${name}" clientSecret`),
        credentialId: source.credentialId,
        ...(source.pin !== undefined && { pin: await resolveSecret(source.pin, `key "${name}" PIN`) }),
        transport: cscTransport,
      });
      break;
  }
  await proveSigner(signer);
  return signer;
}

async function proveSigner(signer: Signer): Promise<void> {
  const probe = randomBytes(32);
  const signature = await signer.signDigest(createHash('sha256').update(probe).digest(), 'sha256');
  if (!verify('sha256', probe, new X509Certificate(signer.certificateDer).publicKey, signature)) {
    throw new KeyMaterialError(`Signing key "${signer.name}": its test signature does not verify with its certificate`);
  }
}
