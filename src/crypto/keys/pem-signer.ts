import { X509Certificate, constants, createPrivateKey, privateEncrypt, type KeyObject } from 'node:crypto';
import { createEcdsaDigestSigner } from './ecdsa-digest-signature.js';
import { KeyMaterialError, assertDigestLength, type Signer, type SignerHash } from './signer.js';
import type { SigningThreads } from './signing-threads.js';

export interface PemSignerInput {
  name: string;
  /** Unencrypted PKCS#8 or traditional (PKCS#1 / SEC1) private key PEM. */
  keyPem: string;
  certificatePem: string;
  /** Issuer certificates up to the root, in any order, possibly partial (completed from AIA); any number of PEM blocks. */
  chainPem?: string;
  /** RSA signatures are computed on these threads instead of the calling one (the service passes them). */
  threads?: SigningThreads;
}

/*
 * DigestInfo ::= SEQUENCE {                   -- RFC 8017 §9.2, note 1
 *   digestAlgorithm  AlgorithmIdentifier,     -- parameters NULL
 *   digest           OCTET STRING }
 *
 * For a given hash everything before the digest bytes is constant, so it is kept as a prefix;
 * these are the exact prefixes RFC 8017 lists.
 */
const digestInfoPrefixes: Readonly<Record<SignerHash, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/**
 * A Signer over a PEM private key and certificate. RSA signs PKCS#1 v1.5 over the digest with
 * `privateEncrypt` (type 1 padding of DigestInfo is exactly RSASSA-PKCS1-v1_5); EC signs the digest with
 * ECDSA (see ecdsa-digest-signature.ts). Refuses, with a KeyMaterialError, key material that could only
 * produce signatures nobody can verify: a key that is not the certificate's, a chain certificate that
 * is no CA. The chain may come in any
 * order and may be partial (an intermediate left out, or no chain at all): it is put in issuing order as
 * far as its certificates link, and the service completes the rest from AIA caIssuers
 * (core/revocation/chain-completion.ts).
 */
export function createPemSigner(input: PemSignerInput): Signer {
  const label = `Signing key "${input.name}"`;
  const privateKey = readPrivateKey(input.keyPem, label);
  const certificate = readCertificate(input.certificatePem, `${label}: certificate`);
  const keyAlgorithm = keyAlgorithmOf(privateKey, label);
  const keyMatches =
    certificate.publicKey.asymmetricKeyType === privateKey.asymmetricKeyType && certificate.checkPrivateKey(privateKey);
  if (!keyMatches) {
    throw new KeyMaterialError(
      `${label}: the private key does not match the certificate "${certificate.subject.replace(/\n/g, ', ')}"; ` +
        'configure the key that belongs to this certificate',
    );
  }
  const chain = readChain(input.chainPem ?? '', label);
  for (const [index, issuer] of chain.entries()) {
    // A leaf put in the chain by mistake (the TSA's certificate, say) can issue nothing.
    if (!issuer.ca) {
      throw new KeyMaterialError(`${label}: chain certificate #${index + 1} ("${issuer.subject.replace(/\n/g, ', ')}") is not a CA certificate; the chain lists the issuers of the certificate`);
    }
  }
  const ordered = inIssuingOrder(certificate, chain);

  const signDigest =
    keyAlgorithm !== 'RSA'
      ? ecDigestSigner(privateKey, label)
      : input.threads
        ? threadedRsaDigestSigner(input.threads, privateKey)
        : rsaDigestSigner(privateKey);
  return Object.freeze({
    name: input.name,
    certificateDer: certificate.raw,
    chainDer: ordered.map((issuer) => issuer.raw),
    keyAlgorithm,
    verifiesItself: true,
    async signDigest(digest: Buffer, hash: SignerHash): Promise<Buffer> {
      assertDigestLength(digest, hash);
      return signDigest(digest, hash);
    },
  });
}

function rsaDigestSigner(privateKey: KeyObject): (digest: Buffer, hash: SignerHash) => Buffer {
  return (digest, hash) =>
    privateEncrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([digestInfoPrefixes[hash], digest]),
    );
}

function threadedRsaDigestSigner(threads: SigningThreads, privateKey: KeyObject): (digest: Buffer, hash: SignerHash) => Promise<Buffer> {
  const sign = threads.registerRsaKey(privateKey);
  return (digest, hash) => sign(Buffer.concat([digestInfoPrefixes[hash], digest]));
}

function ecDigestSigner(privateKey: KeyObject, label: string): (digest: Buffer, hash: SignerHash) => Buffer {
  try {
    const sign = createEcdsaDigestSigner(privateKey);
    return (digest) => sign(digest);
  } catch (error) {
    throw new KeyMaterialError(`${label}: ${(error as Error).message}`, { cause: error });
  }
}

function keyAlgorithmOf(privateKey: KeyObject, label: string): Signer['keyAlgorithm'] {
  switch (privateKey.asymmetricKeyType) {
    case 'rsa':
      return 'RSA';
    case 'ec':
      return 'EC';
    default:
      throw new KeyMaterialError(
        `${label}: ${privateKey.asymmetricKeyType ?? 'unknown'} keys are not supported; ` +
          'use an RSA key (PKCS#1 v1.5 signatures) or an EC key on P-256, P-384 or P-521',
      );
  }
}

function readPrivateKey(pem: string, label: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new KeyMaterialError(
      `${label}: the private key PEM cannot be read (it must be an unencrypted PKCS#8, PKCS#1 or SEC1 key)`,
      { cause: error },
    );
  }
}

function readCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new KeyMaterialError(`${what} is not a readable X.509 certificate`, { cause: error });
  }
}

const pemCertificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readChain(pem: string, label: string): X509Certificate[] {
  return (pem.match(pemCertificateBlock) ?? []).map((block, index) =>
    readCertificate(block, `${label}: chain certificate #${index + 1}`),
  );
}

/**
 * The chain's certificates from the certificate's issuer upwards as far as they link (each signed by
 * the next), then those that do not link yet — a root above a missing intermediate, say — as given.
 */
function inIssuingOrder(certificate: X509Certificate, chain: X509Certificate[]): X509Certificate[] {
  const rest = [...chain];
  const ordered: X509Certificate[] = [];
  for (let child = certificate; ; ) {
    const index = rest.findIndex((issuer) => !issuer.raw.equals(child.raw) && child.checkIssued(issuer) && child.verify(issuer.publicKey));
    if (index < 0) break;
    const [issuer] = rest.splice(index, 1);
    ordered.push(issuer!);
    child = issuer!;
  }
  return [...ordered, ...rest];
}
