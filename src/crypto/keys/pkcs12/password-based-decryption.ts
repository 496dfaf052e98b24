import { createDecipheriv, pbkdf2Sync } from 'node:crypto';
import * as asn1js from 'asn1js';
import { KeyMaterialError } from '../signer.js';
import { pkcs12Kdf, pkcs12Password } from './pkcs12-kdf.js';

/*
 * Decrypts what a PKCS#12 file protects with its password:
 *
 * pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }      -- RFC 7292 App. C
 * PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier,           -- RFC 8018 A.4
 *                             encryptionScheme AlgorithmIdentifier }
 * PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER,       -- RFC 8018 A.2
 *                              keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
 */

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';

/** pbeWithSHAAnd… (RFC 7292 App. C): the ones Node's OpenSSL can still decrypt without the legacy provider. */
const pkcs12Schemes: Record<string, { cipher: string; keyLength: number; ivLength: number }> = {
  '1.2.840.113549.1.12.1.3': { cipher: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  '1.2.840.113549.1.12.1.4': { cipher: 'des-ede-cbc', keyLength: 16, ivLength: 8 },
};
/** Legacy schemes OpenSSL 3 only has in its legacy provider (RC2, RC4). */
const legacySchemes: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
  '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
  '1.2.840.113549.1.12.1.5': 'pbeWithSHAAnd128BitRC2-CBC',
  '1.2.840.113549.1.12.1.6': 'pbeWithSHAAnd40BitRC2-CBC',
};

const pbes2Ciphers: Record<string, { cipher: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { cipher: 'des-ede3-cbc', keyLength: 24 },
};

const hmacPrfs: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

/** `algorithm` is an AlgorithmIdentifier as parsed by asn1js. */
export function decryptWithPassword(algorithm: asn1js.Sequence, encrypted: Buffer, password: string, what: string): Buffer {
  const [oidNode, params] = algorithm.valueBlock.value as [asn1js.ObjectIdentifier, asn1js.Sequence];
  const oid = oidNode.valueBlock.toString();
  try {
    if (oid === PBES2) return decryptPbes2(params, encrypted, password);
    const scheme = pkcs12Schemes[oid];
    if (scheme) {
      const [salt, iterations] = params.valueBlock.value as [asn1js.OctetString, asn1js.Integer];
      const saltBytes = Buffer.from(salt.valueBlock.valueHexView);
      const rounds = iterations.valueBlock.valueDec;
      const bmp = pkcs12Password(password);
      const key = pkcs12Kdf('sha1', bmp, saltBytes, rounds, 1, scheme.keyLength);
      const iv = pkcs12Kdf('sha1', bmp, saltBytes, rounds, 2, scheme.ivLength);
      return decipher(scheme.cipher, key, iv, encrypted);
    }
  } catch (error) {
    throw new KeyMaterialError(`${what}: cannot decrypt it — wrong password?`, { cause: error });
  }
  if (legacySchemes[oid]) {
    throw new KeyMaterialError(
      `${what} is encrypted with ${legacySchemes[oid]}, a legacy algorithm this runtime does not provide; ` +
        're-export the file with modern encryption (openssl pkcs12 -export, OpenSSL 3 defaults to AES-256) ' +
        'or give the certificate as PEM with "certificate" in signing-keys.json',
    );
  }
  throw new KeyMaterialError(`${what} uses an unknown encryption algorithm ${oid}`);
}

function decryptPbes2(params: asn1js.Sequence, encrypted: Buffer, password: string): Buffer {
  const [kdf, scheme] = params.valueBlock.value as [asn1js.Sequence, asn1js.Sequence];
  const [kdfOid, kdfParams] = kdf.valueBlock.value as [asn1js.ObjectIdentifier, asn1js.Sequence];
  if (kdfOid.valueBlock.toString() !== PBKDF2) throw new Error(`unsupported key derivation ${kdfOid.valueBlock.toString()}`);
  const fields = kdfParams.valueBlock.value;
  const salt = Buffer.from((fields[0] as asn1js.OctetString).valueBlock.valueHexView);
  const iterations = (fields[1] as asn1js.Integer).valueBlock.valueDec;
  let prf = 'sha1';
  for (const field of fields.slice(2)) {
    if (field instanceof asn1js.Sequence) {
      const prfOid = (field.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
      prf = hmacPrfs[prfOid] ?? (() => { throw new Error(`unsupported PBKDF2 PRF ${prfOid}`); })();
    }
  }
  const [cipherOid, ivNode] = scheme.valueBlock.value as [asn1js.ObjectIdentifier, asn1js.OctetString];
  const cipher = pbes2Ciphers[cipherOid.valueBlock.toString()];
  if (!cipher) throw new Error(`unsupported PBES2 cipher ${cipherOid.valueBlock.toString()}`);
  // PKCS#12 files pass the password to PBES2 as UTF-8 bytes (what OpenSSL does).
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.keyLength, prf);
  return decipher(cipher.cipher, key, Buffer.from(ivNode.valueBlock.valueHexView), encrypted);
}

function decipher(cipher: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const d = createDecipheriv(cipher, key, iv);
  return Buffer.concat([d.update(data), d.final()]);
}
