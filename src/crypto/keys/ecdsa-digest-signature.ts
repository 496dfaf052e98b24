import { createECDH, randomBytes, type KeyObject } from 'node:crypto';

/**
 * ECDSA over a digest someone else computed (FIPS 186-4 §6.4), for the "digest in, signature out" Signer.
 *
 * Why by hand: Node's `crypto.sign` always hashes its input for EC keys (`crypto.sign(null, …)` picks
 * SHA-256 and hashes again), and webcrypto has no prehash mode either. What ECDSA needs that is
 * sensitive to side channels is the scalar multiplication k·G; `ECDH.setPrivateKey(k)` computes exactly
 * that inside OpenSSL (its constant-time ladder / nistz256 code). The rest is arithmetic modulo the group
 * order in BigInt; the one variable-time step that could leak the nonce, the modular inverse, is taken of
 * a randomly blinded k·b, never of k itself.
 *
 * Tests check every signature with `crypto.verify` and `openssl pkeyutl -verify`.
 */

interface Curve {
  /** OpenSSL / Node name, as in `asymmetricKeyDetails.namedCurve` and `createECDH`. */
  readonly name: string;
  /** Group order n (from `openssl ecparam -param_enc explicit -text`). */
  readonly order: bigint;
  readonly orderBits: number;
}

const curves: ReadonlyMap<string, Curve> = new Map(
  [
    {
      name: 'prime256v1',
      order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
      orderBits: 256,
    },
    {
      name: 'secp384r1',
      order:
        0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
      orderBits: 384,
    },
    {
      name: 'secp521r1',
      order:
        0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
      orderBits: 521,
    },
  ].map((curve) => [curve.name, curve]),
);

export const supportedEcCurves: readonly string[] = [...curves.keys()];

/** Returns a function that signs a digest with the EC private key; throws if the curve is not supported. */
export function createEcdsaDigestSigner(privateKey: KeyObject): (digest: Buffer) => Buffer {
  const curveName = privateKey.asymmetricKeyDetails?.namedCurve ?? '';
  const curve = curves.get(curveName);
  if (!curve) {
    throw new RangeError(
      `EC curve "${curveName || 'unknown'}" is not supported; use one of ${supportedEcCurves.join(', ')}`,
    );
  }
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') throw new TypeError('The EC key has no private scalar');
  const d = bytesToBigInt(Buffer.from(jwk.d, 'base64url'));
  return (digest) => signDigest(curve, d, digest);
}

function signDigest(curve: Curve, d: bigint, digest: Buffer): Buffer {
  const n = curve.order;
  const z = digestToInteger(digest, curve.orderBits);
  // r = 0 or s = 0 happen with probability ~2^-256; the standard answer is to draw another nonce.
  for (;;) {
    const k = randomScalar(curve);
    const r = pointX(curve, k) % n;
    if (r === 0n) continue;
    const blind = randomScalar(curve);
    const blindedInverse = modInverse((k * blind) % n, n); // = k⁻¹·b⁻¹
    const s = (blindedInverse * ((blind * ((z + r * d) % n)) % n)) % n;
    if (s === 0n) continue;
    return encodeEcdsaSigValue(r, s);
  }
}

/** x coordinate of k·G, computed by OpenSSL. */
function pointX(curve: Curve, k: bigint): bigint {
  const ecdh = createECDH(curve.name);
  ecdh.setPrivateKey(bigIntToBytes(k, Math.ceil(curve.orderBits / 8)));
  const point = ecdh.getPublicKey(); // 04 ‖ X ‖ Y, uncompressed
  const coordinateLength = (point.length - 1) / 2;
  return bytesToBigInt(point.subarray(1, 1 + coordinateLength));
}

/** FIPS 186-4 §6.4: z is the leftmost min(N, outlen) bits of the digest. */
function digestToInteger(digest: Buffer, orderBits: number): bigint {
  const value = bytesToBigInt(digest);
  const excessBits = digest.length * 8 - orderBits;
  return excessBits > 0 ? value >> BigInt(excessBits) : value;
}

/** Uniform in [1, n-1] by rejection sampling, so the nonce carries no bias a lattice attack could use. */
function randomScalar(curve: Curve): bigint {
  const length = Math.ceil(curve.orderBits / 8);
  const topBits = curve.orderBits % 8;
  for (;;) {
    const bytes = randomBytes(length);
    if (topBits !== 0) bytes[0] &= (1 << topBits) - 1;
    const value = bytesToBigInt(bytes);
    if (value > 0n && value < curve.order) return value;
  }
}

function modInverse(value: bigint, modulus: bigint): bigint {
  let [oldR, r] = [value, modulus];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  return ((oldS % modulus) + modulus) % modulus;
}

/*
 * Ecdsa-Sig-Value ::= SEQUENCE {   -- RFC 5480 §2.2, RFC 3279 §2.2.3
 *   r  INTEGER,
 *   s  INTEGER }
 */
function encodeEcdsaSigValue(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([encodeInteger(r), encodeInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), encodeLength(body.length), body]);
}

function encodeInteger(value: bigint): Buffer {
  let bytes = bigIntToBytes(value, 0);
  if (bytes.length === 0 || bytes[0] >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), encodeLength(bytes.length), bytes]);
}

function encodeLength(length: number): Buffer {
  return length < 0x80 ? Buffer.from([length]) : Buffer.from([0x81, length]); // an Ecdsa-Sig-Value stays < 256
}

function bytesToBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

/** Big-endian bytes, left-padded to `length` (0 = minimal). */
function bigIntToBytes(value: bigint, length: number): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (value === 0n) hex = '';
  const bytes = Buffer.from(hex, 'hex');
  return length > bytes.length ? Buffer.concat([Buffer.alloc(length - bytes.length), bytes]) : bytes;
}
