import type { X509Certificate } from 'node:crypto';
import { createPemSigner } from './pem-signer.js';
import { readPkcs12 } from './pkcs12/pfx.js';
import { KeyMaterialError, type Signer } from './signer.js';
import type { SigningThreads } from './signing-threads.js';

/**
 * A Signer from a PKCS#12 (.p12/.pfx) file: the private key, the certificate that belongs to it, and
 * the other certificates of the file as its chain (nearest issuer first). `certificatePem` overrides
 * the file's certificate (for files whose certificates use an encryption this runtime lacks).
 */
export function createPkcs12Signer(input: {
  name: string;
  file: Buffer;
  password: string;
  certificatePem?: string;
  chainPem?: string;
  threads?: SigningThreads;
}): Signer {
  const label = `Signing key "${input.name}" (PKCS#12)`;
  const contents = readPkcs12(input.file, input.password, label);
  if (contents.privateKeys.length !== 1) {
    throw new KeyMaterialError(`${label}: expected one private key in the file, found ${contents.privateKeys.length}`);
  }
  const privateKey = contents.privateKeys[0];
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  if (input.certificatePem) {
    return createPemSigner({ name: input.name, keyPem, certificatePem: input.certificatePem, chainPem: input.chainPem, threads: input.threads });
  }
  const leaf = contents.certificates.find((certificate) => certificate.checkPrivateKey(privateKey));
  if (!leaf && contents.unreadable.length > 0) throw contents.unreadable[0];
  if (!leaf) throw new KeyMaterialError(`${label}: no certificate in the file belongs to its private key`);
  const chain = input.chainPem ?? orderChain(leaf, contents.certificates).map((c) => c.toString()).join('');
  return createPemSigner({ name: input.name, keyPem, certificatePem: leaf.toString(), chainPem: chain, threads: input.threads });
}

/** Walks issuer links from the leaf; certificates that do not continue the path are left out. */
function orderChain(leaf: X509Certificate, all: X509Certificate[]): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = leaf;
  for (;;) {
    if (current.issuer === current.subject) break;
    const issuer = all.find((candidate) => candidate !== current && !chain.includes(candidate) && current.checkIssued(candidate));
    if (!issuer) break;
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}
