import { X509Certificate } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { BatchedCalls } from '../../util/batched-calls.js';
import { currentTimeMs } from '../../util/clock.js';
import { unsignedInteger } from '../cms/der-integer.js';
import { sequence } from '../cms/der.js';
import { assertDigestLength, KeyMaterialError, type Signer, type SignerHash } from './signer.js';

/** How the signer reaches the service: one POST, answered JSON (outbound/csc-transport.ts). */
export interface CscTransport {
  post(url: string, body: { json: object } | { form: Record<string, string> }, bearer?: string): Promise<Record<string, unknown>>;
}

export interface CscSignerOptions {
  name: string;
  /** Ends before `oauth2/token`, `credentials/info`, `signatures/signHash` (API.md §9). */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  credentialId: string;
  /** For credentials that need explicit authorization (`credentials/authorize`). */
  pin?: string;
  transport: CscTransport;
}

const HASH_OIDS: Record<SignerHash, string> = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' };
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const ECDSA_OIDS: Record<SignerHash, string> = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' };
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** Renew the OAuth token this long before it expires. */
const TOKEN_MARGIN_MS = 30_000;

/**
 * A Signer whose key stays in a remote HSM reached through the Cloud Signature Consortium API v2: Signet
 * computes the digests and sends only them (`signatures/signHash`); the document never leaves.
 *
 * - OAuth 2.0 client credentials against `oauth2/token`; the token is reused until shortly before it expires.
 * - `credentials/info` once, at start: the certificate chain, the key algorithm, `authMode` and how many
 *   hashes one call may carry (`multisign`).
 * - Digests asked for while a call is in flight go together in the next one, up to `multisign`, so a
 *   batch of documents needs a few calls, not one each (util/batched-calls.ts).
 * - Explicit authorization (`authMode` "explicit"): `credentials/authorize` with the PIN for exactly the
 *   hashes of each call, for the SAD that call needs.
 * Its signatures are checked by the CMS code against the certificate (`verifiesItself` unset).
 */
export async function createCscSigner(options: CscSignerOptions): Promise<Signer> {
  const base = options.baseUrl.replace(/\/+$/, '');
  let token: { value: string; until: number } | undefined;
  const accessToken = async (): Promise<string> => {
    if (token && token.until > currentTimeMs()) return token.value;
    const answer = await options.transport.post(`${base}/oauth2/token`, {
      form: { grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret },
    });
    if (typeof answer.access_token !== 'string') throw new SignetError('signing_service_failed', `${base}/oauth2/token answered no access_token`);
    const lifetimeMs = typeof answer.expires_in === 'number' ? answer.expires_in * 1000 : 3600_000;
    token = { value: answer.access_token, until: currentTimeMs() + Math.max(0, lifetimeMs - TOKEN_MARGIN_MS) };
    return token.value;
  };
  const call = async (path: string, json: object) => options.transport.post(`${base}/${path}`, { json }, await accessToken());

  const info = await call('credentials/info', { credentialID: options.credentialId, certificates: 'chain', certInfo: false, authInfo: true });
  const described = describe(options.name, info);
  const explicit = described.authMode === 'explicit';
  if (explicit && options.pin === undefined) {
    throw new KeyMaterialError(`Signing key "${options.name}": credential ${options.credentialId} needs explicit authorization; configure its "pin"`);
  }

  const signHashes = async (hash: SignerHash, digests: Buffer[]): Promise<Buffer[]> => {
    const hashes = digests.map((digest) => digest.toString('base64'));
    let sad: string | undefined;
    if (explicit) {
      const authorized = await call('credentials/authorize', {
        credentialID: options.credentialId,
        numSignatures: hashes.length,
        hashes,
        hashAlgorithmOID: HASH_OIDS[hash],
        PIN: options.pin,
      });
      if (typeof authorized.SAD !== 'string') throw new SignetError('signing_service_failed', `credentials/authorize for key "${options.name}" answered no SAD`);
      sad = authorized.SAD;
    }
    const answer = await call('signatures/signHash', {
      credentialID: options.credentialId,
      ...(sad !== undefined && { SAD: sad }),
      hashes,
      hashAlgorithmOID: HASH_OIDS[hash],
      signAlgo: described.keyAlgorithm === 'RSA' ? RSA_ENCRYPTION : ECDSA_OIDS[hash],
    });
    const signatures = answer.signatures;
    if (!Array.isArray(signatures) || signatures.length !== hashes.length || !signatures.every((item) => typeof item === 'string')) {
      throw new SignetError('signing_service_failed', `signatures/signHash for key "${options.name}" answered ${Array.isArray(signatures) ? signatures.length : 'no'} signatures for ${hashes.length} hashes`);
    }
    return signatures.map((item) => {
      const signature = Buffer.from(item as string, 'base64');
      return described.keyAlgorithm === 'EC' ? ecdsaAsDer(signature) : signature;
    });
  };
  const batches = new Map<SignerHash, BatchedCalls<Buffer, Buffer>>();
  const batchFor = (hash: SignerHash) => {
    let batch = batches.get(hash);
    if (!batch) {
      batch = new BatchedCalls((digests: Buffer[]) => signHashes(hash, digests), { maxBatch: described.multisign });
      batches.set(hash, batch);
    }
    return batch;
  };

  return {
    name: options.name,
    certificateDer: described.chain[0]!,
    chainDer: described.chain.slice(1),
    keyAlgorithm: described.keyAlgorithm,
    batchSize: described.multisign,
    async signDigest(digest: Buffer, hash: SignerHash): Promise<Buffer> {
      assertDigestLength(digest, hash);
      return batchFor(hash).call(digest);
    },
  };
}

/** What `credentials/info` says, checked: the chain (signer first), the key's algorithm, authMode, multisign. */
function describe(name: string, info: Record<string, unknown>): { chain: Buffer[]; keyAlgorithm: 'RSA' | 'EC'; authMode: string; multisign: number } {
  const cert = info.cert as { certificates?: unknown; status?: unknown } | undefined;
  const certificates = cert?.certificates;
  if (!Array.isArray(certificates) || certificates.length === 0 || !certificates.every((item) => typeof item === 'string')) {
    throw new KeyMaterialError(`Signing key "${name}": credentials/info holds no certificate chain (ask for certificates "chain")`);
  }
  const chain = certificates.map((item) => Buffer.from(item as string, 'base64'));
  let keyType: string | undefined;
  try {
    keyType = new X509Certificate(chain[0]!).publicKey.asymmetricKeyType;
  } catch (error) {
    throw new KeyMaterialError(`Signing key "${name}": the credential's first certificate cannot be read`, { cause: error });
  }
  const key = info.key as { status?: unknown; algo?: unknown } | undefined;
  if (key?.status !== undefined && key.status !== 'enabled') throw new KeyMaterialError(`Signing key "${name}": the remote key is ${String(key.status)}`);
  const algorithms = Array.isArray(key?.algo) ? (key.algo as unknown[]) : [];
  const keyAlgorithm = keyType === 'rsa' ? 'RSA' : keyType === 'ec' ? 'EC' : undefined;
  if (!keyAlgorithm) throw new KeyMaterialError(`Signing key "${name}": a ${keyType} key is not supported (RSA or EC)`);
  if (keyAlgorithm === 'EC' && algorithms.length > 0 && !algorithms.some((oid) => oid === EC_PUBLIC_KEY || Object.values(ECDSA_OIDS).includes(oid as string))) {
    throw new KeyMaterialError(`Signing key "${name}": the credential offers no ECDSA algorithm (${algorithms.join(', ')})`);
  }
  const multisign = typeof info.multisign === 'number' && info.multisign >= 1 ? Math.min(Math.floor(info.multisign), 1000) : 1;
  return { chain, keyAlgorithm, authMode: typeof info.authMode === 'string' ? info.authMode : 'implicit', multisign };
}

/** CSC services answer ECDSA as DER or as r‖s (IEEE P1363); CMS wants DER (RFC 5753). */
function ecdsaAsDer(signature: Buffer): Buffer {
  if (signature[0] === 0x30 && signature[1] === signature.length - 2) return signature;
  if (signature[0] === 0x30 && signature[1] === 0x81 && signature[2] === signature.length - 3) return signature;
  if (signature.length % 2 !== 0) throw new SignetError('signing_service_failed', 'the remote ECDSA signature is neither DER nor r‖s');
  const half = signature.length / 2;
  return sequence(unsignedInteger(signature.subarray(0, half)), unsignedInteger(signature.subarray(half)));
}
