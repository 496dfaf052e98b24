import { X509Certificate } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { BatchedCalls } from '../../util/batched-calls.js';
import { currentTimeMs } from '../../util/clock.js';
import { unsignedInteger } from '../cms/der-integer.js';
import { sequence } from '../cms/der.js';
import { assertDigestLength, KeyMaterialError, type Signer, type SignerHash } from './signer.js';

/** A non-2xx answer of the service, with its HTTP status (the transport throws it as a SignetError subclass). */
export class CscHttpError extends SignetError {
  constructor(
    readonly httpStatus: number,
    message: string,
    transient: boolean,
  ) {
    super(transient ? 'signing_service_unavailable' : 'signing_service_failed', message, { transient });
  }
}

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
    if (typeof answer.access_token !== 'string') throw new SignetError('signing_service_failed', `The remote signing service of key "${options.name}" answered no access_token`);
    const seconds = Number(answer.expires_in);
    const lifetimeMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 3600_000;
    token = { value: answer.access_token, until: currentTimeMs() + Math.max(0, lifetimeMs - TOKEN_MARGIN_MS) };
    return token.value;
  };
  /** A token the service no longer accepts (it restarted, revoked it, or it lived shorter than said) is replaced once. */
  const call = async (path: string, json: object) => {
    try {
      return await options.transport.post(`${base}/${path}`, { json }, await accessToken());
    } catch (error) {
      if (!(error instanceof CscHttpError) || error.httpStatus !== 401) throw error;
      token = undefined;
      return options.transport.post(`${base}/${path}`, { json }, await accessToken());
    }
  };

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
      signAlgo: described.keyAlgorithm === 'RSA' ? rsaSignAlgorithm(described.algorithms, hash) : ECDSA_OIDS[hash],
    });
    const signatures = answer.signatures;
    if (!Array.isArray(signatures) || signatures.length !== hashes.length || !signatures.every((item) => typeof item === 'string')) {
      throw new SignetError('signing_service_failed', `signatures/signHash for key "${options.name}" answered ${Array.isArray(signatures) ? signatures.length : 'no'} signatures for ${hashes.length} hashes`);
    }
    return signatures.map((item) => {
      const signature = Buffer.from(item as string, 'base64');
      return described.keyAlgorithm === 'EC' ? ecdsaAsDer(signature, described.coordinateBytes) : signature;
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

/** What `credentials/info` says, checked: the chain (signer first, each linked to the next), the key, authMode, multisign. */
function describe(
  name: string,
  info: Record<string, unknown>,
): { chain: Buffer[]; keyAlgorithm: 'RSA' | 'EC'; coordinateBytes: number; algorithms: string[]; authMode: string; multisign: number } {
  const cert = info.cert as { certificates?: unknown; status?: unknown } | undefined;
  const certificates = cert?.certificates;
  if (!Array.isArray(certificates) || certificates.length === 0 || !certificates.every((item) => typeof item === 'string')) {
    throw new KeyMaterialError(`Signing key "${name}": credentials/info holds no certificate chain (ask for certificates "chain")`);
  }
  if (cert?.status !== undefined && cert.status !== 'valid') throw new KeyMaterialError(`Signing key "${name}": the remote certificate is ${String(cert.status)}`);
  const chain = certificates.map((item) => Buffer.from(item as string, 'base64'));
  let parsed: X509Certificate[];
  try {
    parsed = chain.map((der) => new X509Certificate(der));
  } catch (error) {
    throw new KeyMaterialError(`Signing key "${name}": a certificate of the credential's chain cannot be read`, { cause: error });
  }
  // The chain comes from the network: each certificate must be issued (and signed) by the next, a CA.
  for (let i = 0; i + 1 < parsed.length; i++) {
    if (!parsed[i + 1]!.ca || !parsed[i]!.checkIssued(parsed[i + 1]!) || !parsed[i]!.verify(parsed[i + 1]!.publicKey)) {
      throw new KeyMaterialError(`Signing key "${name}": certificate ${i + 1} of the credential's chain is not issued by certificate ${i + 2}`);
    }
  }
  const key = info.key as { status?: unknown; algo?: unknown } | undefined;
  if (key?.status !== undefined && key.status !== 'enabled') throw new KeyMaterialError(`Signing key "${name}": the remote key is ${String(key.status)}`);
  const algorithms = Array.isArray(key?.algo) ? (key.algo as unknown[]).filter((oid): oid is string => typeof oid === 'string') : [];
  const publicKey = parsed[0]!.publicKey;
  const keyType = publicKey.asymmetricKeyType;
  const keyAlgorithm = keyType === 'rsa' ? 'RSA' : keyType === 'ec' ? 'EC' : undefined;
  if (!keyAlgorithm) throw new KeyMaterialError(`Signing key "${name}": a ${keyType} key is not supported (RSA or EC)`);
  if (keyAlgorithm === 'EC' && algorithms.length > 0 && !algorithms.some((oid) => oid === EC_PUBLIC_KEY || Object.values(ECDSA_OIDS).includes(oid))) {
    throw new KeyMaterialError(`Signing key "${name}": the credential offers no ECDSA algorithm (${algorithms.join(', ')})`);
  }
  const curve = publicKey.asymmetricKeyDetails?.namedCurve;
  const coordinateBytes = keyAlgorithm === 'EC' ? (curve === 'secp384r1' ? 48 : curve === 'secp521r1' ? 66 : 32) : 0;
  const authMode = typeof info.authMode === 'string' ? info.authMode : 'implicit';
  if (authMode !== 'implicit' && authMode !== 'explicit') {
    throw new KeyMaterialError(`Signing key "${name}": authMode "${authMode}" needs a person to authorize each use; Signet signs unattended (implicit, or explicit with a PIN)`);
  }
  const multisign = typeof info.multisign === 'number' && info.multisign >= 1 ? Math.min(Math.floor(info.multisign), 1000) : 1;
  return { chain, keyAlgorithm, coordinateBytes, algorithms, authMode, multisign };
}

const RSA_WITH: Record<SignerHash, string> = { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha512: '1.2.840.113549.1.1.13' };

/** rsaEncryption (with hashAlgorithmOID) when the credential lists it or lists nothing, else the hash's sha*WithRSAEncryption. */
function rsaSignAlgorithm(algorithms: readonly string[], hash: SignerHash): string {
  if (algorithms.length === 0 || algorithms.includes(RSA_ENCRYPTION)) return RSA_ENCRYPTION;
  if (algorithms.includes(RSA_WITH[hash])) return RSA_WITH[hash];
  throw new SignetError('signing_service_failed', `The remote key offers neither rsaEncryption nor ${RSA_WITH[hash]} (${algorithms.join(', ')})`);
}

/**
 * CSC services answer ECDSA as DER or as r‖s (IEEE P1363); CMS wants DER (RFC 5753). r‖s is exactly twice
 * the curve's coordinate size, which no DER signature of that curve is (its INTEGERs add headers).
 */
function ecdsaAsDer(signature: Buffer, coordinateBytes: number): Buffer {
  if (signature.length !== 2 * coordinateBytes) return signature;
  return sequence(unsignedInteger(signature.subarray(0, coordinateBytes)), unsignedInteger(signature.subarray(coordinateBytes)));
}
