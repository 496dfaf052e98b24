import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { SignetError } from '../../errors/signet-error.js';
import { KeyMaterialError, assertDigestLength, type Signer, type SignerHash } from './signer.js';

// pkcs11js is a native CommonJS addon; loaded on demand so deployments without an HSM never load it.
const require = createRequire(import.meta.url);
type Pkcs11Module = typeof import('pkcs11js');

export interface Pkcs11SignerInput {
  name: string;
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** Token label (as set at token initialisation). */
  tokenLabel: string;
  pin: string;
  /** CKA_LABEL of the private key (and of the certificate object, when no PEM is given). */
  keyLabel: string;
  /** The key's certificate as PEM; absent: read from the token (CKO_CERTIFICATE with the same label). */
  certificatePem?: string;
  chainPem?: string;
  /** Sessions signing in parallel (a PKCS#11 session runs one operation at a time). */
  sessions?: number;
}

/*
 * DigestInfo prefixes (RFC 8017 §9.2 note 1): CKM_RSA_PKCS signs exactly the bytes it is given with
 * type-1 padding, so prefix + digest in gives an RSASSA-PKCS1-v1_5 signature out — "digest in,
 * signature out" without the token ever seeing the document.
 */
const digestInfoPrefixes: Readonly<Record<SignerHash, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/**
 * A Signer whose private key never leaves a PKCS#11 token (HSM, smart card, SoftHSM2 in tests).
 * Opens a few logged-in sessions and hands each signature to a free one.
 */
export function createPkcs11Signer(input: Pkcs11SignerInput): Signer & { close(): void } {
  const label = `Signing key "${input.name}" (PKCS#11 ${input.module}, token "${input.tokenLabel}")`;
  const pkcs11js = require('pkcs11js') as Pkcs11Module;
  const pkcs11 = new pkcs11js.PKCS11();
  try {
    pkcs11.load(input.module);
  } catch (error) {
    throw new KeyMaterialError(`${label}: cannot load the PKCS#11 library: ${(error as Error).message}`, { cause: error });
  }
  try {
    pkcs11.C_Initialize();
  } catch (error) {
    // Another signer of this process may have initialised the library already.
    if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test(String((error as Error).message))) throw wrap(label, error);
  }

  const slot = pkcs11.C_GetSlotList(true).find((candidate) => pkcs11.C_GetTokenInfo(candidate).label.trim() === input.tokenLabel);
  if (!slot) throw new KeyMaterialError(`${label}: no token with this label is present`);

  const sessionCount = Math.max(1, input.sessions ?? 4);
  const sessions: Buffer[] = [];
  try {
    for (let i = 0; i < sessionCount; i++) sessions.push(pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    pkcs11.C_Login(sessions[0], pkcs11js.CKU_USER, input.pin);
  } catch (error) {
    if (/CKR_PIN_INCORRECT/.test(String((error as Error).message))) throw new KeyMaterialError(`${label}: the PIN is wrong`);
    if (!/CKR_USER_ALREADY_LOGGED_IN/.test(String((error as Error).message))) throw wrap(label, error);
  }

  const findOne = (objectClass: number): Buffer | null => {
    pkcs11.C_FindObjectsInit(sessions[0], [
      { type: pkcs11js.CKA_CLASS, value: objectClass },
      { type: pkcs11js.CKA_LABEL, value: input.keyLabel },
    ]);
    const handle = pkcs11.C_FindObjects(sessions[0]);
    pkcs11.C_FindObjectsFinal(sessions[0]);
    return handle;
  };
  const privateKey = findOne(pkcs11js.CKO_PRIVATE_KEY);
  if (!privateKey) throw new KeyMaterialError(`${label}: no private key labelled "${input.keyLabel}" on the token`);

  let certificate: X509Certificate;
  if (input.certificatePem) {
    certificate = new X509Certificate(input.certificatePem);
  } else {
    const handle = findOne(pkcs11js.CKO_CERTIFICATE);
    if (!handle) throw new KeyMaterialError(`${label}: no certificate labelled "${input.keyLabel}" on the token; give "certificate" as PEM`);
    const [value] = pkcs11.C_GetAttributeValue(sessions[0], handle, [{ type: pkcs11js.CKA_VALUE }]);
    certificate = new X509Certificate(value.value as Buffer);
  }
  const keyAlgorithm = certificate.publicKey.asymmetricKeyType === 'ec' ? 'EC' : 'RSA';
  if (certificate.publicKey.asymmetricKeyType !== 'rsa' && keyAlgorithm !== 'EC') {
    throw new KeyMaterialError(`${label}: unsupported key type ${certificate.publicKey.asymmetricKeyType}`);
  }
  const chainDer = splitPem(input.chainPem ?? '').map((pem) => new X509Certificate(pem).raw);
  const signatureLength = keyAlgorithm === 'RSA' ? (certificate.publicKey.asymmetricKeyDetails?.modulusLength ?? 4096) / 8 : 132;

  const idle = [...sessions];
  const waiting: Array<(session: Buffer) => void> = [];
  const acquire = () => new Promise<Buffer>((resolve) => (idle.length > 0 ? resolve(idle.pop()!) : waiting.push(resolve)));
  const release = (session: Buffer) => (waiting.length > 0 ? waiting.shift()!(session) : idle.push(session));

  const signer = {
    name: input.name,
    certificateDer: certificate.raw,
    chainDer,
    keyAlgorithm,
    async signDigest(digest: Buffer, hash: SignerHash): Promise<Buffer> {
      assertDigestLength(digest, hash);
      const session = await acquire();
      try {
        const mechanism = keyAlgorithm === 'RSA' ? pkcs11js.CKM_RSA_PKCS : pkcs11js.CKM_ECDSA;
        const data = keyAlgorithm === 'RSA' ? Buffer.concat([digestInfoPrefixes[hash], digest]) : digest;
        pkcs11.C_SignInit(session, { mechanism }, privateKey);
        const signature = await pkcs11.C_SignAsync(session, data, Buffer.alloc(signatureLength));
        return keyAlgorithm === 'RSA' ? Buffer.from(signature) : ecdsaRawToDer(Buffer.from(signature));
      } catch (error) {
        // A token that was pulled or a session that died: worth retrying the task later.
        throw new SignetError('internal_error', `${label}: the token failed to sign: ${(error as Error).message}`, {
          transient: true,
          cause: error,
        });
      } finally {
        release(session);
      }
    },
    close() {
      for (const session of sessions) {
        try {
          pkcs11.C_CloseSession(session);
        } catch {
          // already closed
        }
      }
    },
  } as const;
  return signer;
}

/** PKCS#11 returns ECDSA signatures as r‖s; CMS and X.509 want Ecdsa-Sig-Value (RFC 5480 / 3279). */
function ecdsaRawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const integer = (bytes: Buffer) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const content = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  const length = content.length < 0x80 ? Buffer.from([content.length]) : Buffer.from([0x81, content.length]);
  return Buffer.concat([Buffer.from([0x30]), length, content]);
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function wrap(label: string, error: unknown): KeyMaterialError {
  return new KeyMaterialError(`${label}: ${(error as Error).message}`, { cause: error });
}
