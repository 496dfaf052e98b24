import { KeyObject, X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
// @peculiar/x509 2.x resolves its algorithms through tsyringe, which needs the Reflect metadata
// polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPemSigner } from '../keys/pem-signer.js';
import { KeyMaterialError, type Signer } from '../keys/signer.js';
import type { SigningThreads } from '../keys/signing-threads.js';
import { DEVELOPMENT_CA_CRL_NAME, crlUrl } from './crl.js';
import { ocspUrl } from './ocsp-responder.js';
import { fsyncPath } from '../../util/durable-files.js';

/**
 * The development PKI a fresh install signs with: a CA, a document-signing certificate and a TSA
 * certificate, created on first start so that `signet serve` works from one command and everything it
 * produces verifies with `openssl cms -verify -CAfile ca.cert.pem`. Not for production trust.
 */
export interface DevelopmentPki {
  /** True when this call created the files, false when it loaded them. */
  created: boolean;
  caCertificatePem: string;
  /** Kept for issuing CRLs / more certificates later. */
  caKeyPem: string;
  signer: Signer;
  tsa: { keyPem: string; certificatePem: string; certificateDer: Buffer };
}

export interface DevelopmentPkiOptions {
  /**
   * Public base address of the service (e.g. `https://signet.example`). When given, newly created signing
   * and TSA certificates carry a CRL distribution point `${crlBaseUrl}/pki/crl/signet-development-ca.crl`
   * (RFC 5280 §4.2.1.13) and an AIA naming the OCSP responder `${crlBaseUrl}/pki/ocsp` and the CA certificate
   * `${crlBaseUrl}/pki/ca.pem` (§4.2.2.1), where
   * the HTTP layer serves crl.ts's CRL and ocsp-responder.ts's answers. Certificates already in the
   * folder keep what they have.
   */
  crlBaseUrl?: string;
  /** Where the development signing key's RSA signatures are computed (see SigningThreads). */
  threads?: SigningThreads;
}

const files = {
  caCertificate: 'ca.cert.pem',
  caKey: 'ca.key.pem',
  signingCertificate: 'signing.cert.pem',
  signingKey: 'signing.key.pem',
  tsaCertificate: 'tsa.cert.pem',
  tsaKey: 'tsa.key.pem',
} as const;

type PkiFiles = Record<keyof typeof files, string>;

const SIGNER_NAME = 'default';

/** RFC 3161 §2.3 / RFC 5280: id-kp-timeStamping. */
const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
/** RFC 5280 §4.2.1.12: id-kp-emailProtection; OpenSSL's default S/MIME purpose for `cms -verify` wants it. */
const ID_KP_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
/** RFC 9336: id-kp-documentSigning, the purpose that actually describes this certificate. */
const ID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';

const RSA_KEY_ALGORITHM: RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

/** @peculiar/x509 is handed Node's webcrypto explicitly rather than through its global provider. */
const crypto = webcrypto as unknown as Crypto;

/**
 * Loads the development PKI from `pkiFolder`, or creates it when the folder does not hold all six files.
 * A partial set (a crash during an earlier creation, a file deleted by hand) is replaced as a whole:
 * certificates and keys from two different runs would not chain.
 */
export async function ensureDevelopmentPki(pkiFolder: string, options: DevelopmentPkiOptions = {}): Promise<DevelopmentPki> {
  await mkdir(pkiFolder, { recursive: true, mode: 0o700 });
  if (await allFilesExist(pkiFolder)) return loadPki(pkiFolder, options.threads);
  return withCreationLock(pkiFolder, async () => {
    // Another process may have created it while we waited for the lock.
    if (await allFilesExist(pkiFolder)) return loadPki(pkiFolder, options.threads);
    // Remove the leftovers first: then "all six files exist" can only ever mean "all six are new".
    await Promise.all(Object.values(files).map((name) => rm(join(pkiFolder, name), { force: true })));
    const created = await createPkiFiles(options);
    await writePkiFiles(pkiFolder, created);
    return fromFiles(created, true, options.threads);
  });
}

async function allFilesExist(folder: string): Promise<boolean> {
  const found = await Promise.all(
    Object.values(files).map((name) =>
      stat(join(folder, name)).then(
        (info) => info.isFile(),
        () => false,
      ),
    ),
  );
  return found.every(Boolean);
}

async function loadPki(folder: string, threads?: SigningThreads): Promise<DevelopmentPki> {
  const pki = await readPkiFiles(folder);
  try {
    return fromFiles(pki, false, threads);
  } catch (error) {
    throw new KeyMaterialError(
      `The development PKI in ${folder} cannot be used (${(error as Error).message}); ` +
        'delete the folder to have a new one created',
      { cause: error },
    );
  }
}

async function readPkiFiles(folder: string): Promise<PkiFiles> {
  const entries = await Promise.all(
    Object.entries(files).map(async ([key, name]) => [key, await readFile(join(folder, name), 'utf8')] as const),
  );
  return Object.fromEntries(entries) as PkiFiles;
}

/** Checks that the files belong together, so a hand-edited folder fails at start-up, not at a verifier. */
function fromFiles(pki: PkiFiles, created: boolean, threads?: SigningThreads): DevelopmentPki {
  const ca = new X509Certificate(pki.caCertificate);
  if (!ca.checkPrivateKey(createPrivateKey(pki.caKey))) throw new Error('ca.key.pem does not match ca.cert.pem');
  const signer = createPemSigner({
    name: SIGNER_NAME,
    keyPem: pki.signingKey,
    certificatePem: pki.signingCertificate,
    chainPem: pki.caCertificate,
    threads,
  });
  const tsa = new X509Certificate(pki.tsaCertificate);
  if (!tsa.checkPrivateKey(createPrivateKey(pki.tsaKey)) || !tsa.checkIssued(ca) || !tsa.verify(ca.publicKey)) {
    throw new Error('tsa.key.pem / tsa.cert.pem do not belong to this CA');
  }
  return {
    created,
    caCertificatePem: pki.caCertificate,
    caKeyPem: pki.caKey,
    signer,
    tsa: { keyPem: pki.tsaKey, certificatePem: pki.tsaCertificate, certificateDer: tsa.raw },
  };
}

async function createPkiFiles(options: DevelopmentPkiOptions): Promise<PkiFiles> {
  const [caKeys, signingKeys, tsaKeys] = await Promise.all([generateRsaKeys(), generateRsaKeys(), generateRsaKeys()]);
  const notBefore = startOfValidity();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: 'CN=Signet Development CA',
      notBefore,
      notAfter: yearsAfter(notBefore, 10),
      keys: caKeys,
      signingAlgorithm: RSA_KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const signing = await issueEndEntity(ca, caKeys, signingKeys, {
    subject: 'CN=Signet Development Signing',
    years: 3,
    // emailProtection too: `openssl cms -verify` checks the S/MIME purpose unless told `-purpose any`.
    extendedKeyUsage: new x509.ExtendedKeyUsageExtension([ID_KP_EMAIL_PROTECTION, ID_KP_DOCUMENT_SIGNING], false),
    crlBaseUrl: options.crlBaseUrl,
  });
  const tsa = await issueEndEntity(ca, caKeys, tsaKeys, {
    subject: 'CN=Signet Development TSA',
    years: 3,
    // RFC 3161 §2.3: the TSA certificate has exactly this one purpose, marked critical.
    extendedKeyUsage: new x509.ExtendedKeyUsageExtension([ID_KP_TIME_STAMPING], true),
    crlBaseUrl: options.crlBaseUrl,
  });
  return {
    caCertificate: ca.toString('pem'),
    caKey: await privateKeyPem(caKeys),
    signingCertificate: signing.toString('pem'),
    signingKey: await privateKeyPem(signingKeys),
    tsaCertificate: tsa.toString('pem'),
    tsaKey: await privateKeyPem(tsaKeys),
  };
}

interface EndEntityProfile {
  subject: string;
  years: number;
  extendedKeyUsage: x509.ExtendedKeyUsageExtension;
  crlBaseUrl?: string;
}

/** Extensions common to the signing and TSA certificates, with the CA's CRL and OCSP addresses when they are known. */
async function issueEndEntity(
  ca: x509.X509Certificate,
  caKeys: CryptoKeyPair,
  keys: CryptoKeyPair,
  profile: EndEntityProfile,
): Promise<x509.X509Certificate> {
  const notBefore = startOfValidity();
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: profile.subject,
      issuer: ca.subjectName, // the CA's encoded Name, so issuer and subject compare byte for byte
      notBefore,
      notAfter: yearsAfter(notBefore, profile.years),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: RSA_KEY_ALGORITHM,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
        profile.extendedKeyUsage,
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
        ...(profile.crlBaseUrl
          ? [
              new x509.CRLDistributionPointsExtension([crlUrl(profile.crlBaseUrl, DEVELOPMENT_CA_CRL_NAME)], false),
              new x509.AuthorityInfoAccessExtension(
                {
                  ocsp: [new x509.GeneralName('url', ocspUrl(profile.crlBaseUrl))],
                  // The CA's certificate, for relying parties (and Signet instances using this one as an external TSA) to complete the chain.
                  caIssuers: [new x509.GeneralName('url', `${profile.crlBaseUrl.replace(/\/+$/, '')}/pki/ca.pem`)],
                },
                false,
              ),
            ]
          : []),
      ],
    },
    crypto,
  );
}

async function generateRsaKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(RSA_KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const key = KeyObject.from(keys.privateKey as unknown as webcrypto.CryptoKey);
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * RFC 5280 §4.1.2.2: positive, at most 20 octets, unique per CA. 16 random bytes with the top bits set
 * to 01: positive without a leading 00 octet, and non-zero first octet, so the DER is minimal at 16 octets
 * with 126 random bits.
 */
function randomSerialNumber(): string {
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x3f) | 0x40;
  return serial.toString('hex');
}

/** Five minutes back, whole seconds: tolerates clocks of other instances and verifiers running slightly behind. */
function startOfValidity(): Date {
  const date = new Date(Date.now() - 5 * 60_000);
  date.setUTCMilliseconds(0);
  return date;
}

function yearsAfter(date: Date, years: number): Date {
  const later = new Date(date);
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}

/**
 * Each file is written to a temporary name, fsynced and renamed, private keys with mode 0600, then the
 * folder is fsynced: a crash leaves either no file or a whole file under each name, and a partial set is
 * recreated by the next start.
 */
async function writePkiFiles(folder: string, pki: PkiFiles): Promise<void> {
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const written: Array<{ temporary: string; final: string }> = [];
  try {
    for (const [key, name] of Object.entries(files) as Array<[keyof PkiFiles, string]>) {
      const final = join(folder, name);
      const temporary = `${final}${suffix}`;
      written.push({ temporary, final });
      await writeDurably(temporary, pki[key], key.endsWith('Key') ? 0o600 : 0o644);
    }
    for (const { temporary, final } of written) await rename(temporary, final);
    await fsyncPath(folder);
  } catch (error) {
    await Promise.all(written.map(({ temporary }) => rm(temporary, { force: true })));
    throw error;
  }
}

async function writeDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode); // `open`'s mode is filtered by the umask; a key must be 0600 regardless
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const LOCK_FILE = '.creating.lock';
/** Creation takes about a second; a lock this old was left by a process that died. */
const STALE_LOCK_MS = 60_000;
const LOCK_POLL_MS = 100;

/**
 * Several instances may start on one work folder at once; only one of them may create the PKI, or the
 * folder could end up with a CA from one and a signing certificate from the other.
 */
async function withCreationLock<T>(folder: string, create: () => Promise<T>): Promise<T> {
  const lockPath = join(folder, LOCK_FILE);
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const lockAge = await stat(lockPath).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (lockAge > STALE_LOCK_MS) await rm(lockPath, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
  try {
    return await create();
  } finally {
    await rm(lockPath, { force: true });
  }
}
