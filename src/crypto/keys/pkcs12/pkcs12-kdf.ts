import { createHash } from 'node:crypto';

/**
 * The PKCS#12 key derivation function (RFC 7292 Appendix B.2), used by the PKCS#12 password-based
 * encryption schemes (pbeWithSHAAnd3-KeyTripleDES-CBC …) and by the PFX integrity MAC.
 *
 * `id` picks what is derived: 1 = encryption key, 2 = IV, 3 = MAC key (B.3).
 */
export type Pkcs12KdfPurpose = 1 | 2 | 3;

const hashBlock: Record<string, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/** B.1: the password as a BMPString (UTF-16 big-endian) with two terminating zero bytes. */
export function pkcs12Password(password: string): Buffer {
  const bytes = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) bytes.writeUInt16BE(password.charCodeAt(i), i * 2);
  return bytes;
}

export function pkcs12Kdf(
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512',
  password: Buffer,
  salt: Buffer,
  iterations: number,
  id: Pkcs12KdfPurpose,
  length: number,
): Buffer {
  const { u, v } = hashBlock[hash];
  const D = Buffer.alloc(v, id);
  const S = repeatToMultiple(salt, v);
  const P = repeatToMultiple(password, v);
  const I = Buffer.concat([S, P]);
  const output: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let round = 1; round < iterations; round++) A = createHash(hash).update(A).digest();
    output.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block of I, with B = A repeated to v bytes.
    const B = repeatToLength(A, v);
    for (let offset = 0; offset < I.length; offset += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[offset + k] + B[k] + carry;
        I[offset + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(output).subarray(0, length);
}

function repeatToMultiple(data: Buffer, v: number): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  return repeatToLength(data, v * Math.ceil(data.length / v));
}

function repeatToLength(data: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = data[i % data.length];
  return out;
}
