import { X509Certificate, createHmac, createPrivateKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { KeyMaterialError } from '../signer.js';
import { decryptWithPassword } from './password-based-decryption.js';
import { pkcs12Kdf, pkcs12Password } from './pkcs12-kdf.js';

/*
 * PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }   -- RFC 7292 §4
 * MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 * AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data (plain) or encryptedData (password)
 * SafeContents ::= SEQUENCE OF SafeBag
 * SafeBag ::= SEQUENCE { bagId OBJECT IDENTIFIER, bagValue [0] EXPLICIT ANY, bagAttributes SET OF … OPTIONAL }
 * CertBag ::= SEQUENCE { certId OBJECT IDENTIFIER, certValue [0] EXPLICIT OCTET STRING }
 * EncryptedData ::= SEQUENCE { version INTEGER, encryptedContentInfo EncryptedContentInfo }   -- RFC 5652 §8
 * EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OCTET STRING }
 *
 * Files come from Windows, Java and OpenSSL, often BER (indefinite lengths, chunked OCTET STRINGs),
 * so parsing goes through asn1js and every OCTET STRING is read through `octets`.
 */

const oids = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
};

const macHashes: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export interface Pkcs12Contents {
  privateKeys: KeyObject[];
  certificates: X509Certificate[];
  /** Encrypted sections that could not be read (e.g. legacy RC2 certificate bags). */
  unreadable: KeyMaterialError[];
}

/** Reads a PKCS#12 file: checks its MAC with the password, decrypts keys and certificates. */
export function readPkcs12(file: Buffer, password: string, what: string): Pkcs12Contents {
  const pfx = parseBer(file, what);
  const [, authSafe, macData] = children(pfx);
  const [contentType, content] = children(authSafe);
  if (oidOf(contentType) !== oids.data) throw new KeyMaterialError(`${what}: public-key integrity mode is not supported`);
  const authSafeBytes = octets(children(content)[0]);
  if (macData) verifyMac(macData, authSafeBytes, password, what);

  const result: Pkcs12Contents = { privateKeys: [], certificates: [], unreadable: [] };
  for (const info of children(parseBer(authSafeBytes, what))) {
    const [type, body] = children(info);
    let safeContents: Buffer;
    if (oidOf(type) === oids.data) {
      safeContents = octets(children(body)[0]);
    } else if (oidOf(type) === oids.encryptedData) {
      const [, encryptedContentInfo] = children(children(body)[0]);
      const [, algorithm, encrypted] = children(encryptedContentInfo);
      try {
        safeContents = decryptWithPassword(algorithm as asn1js.Sequence, octets(encrypted), password, `${what} (certificates)`);
      } catch (error) {
        // The caller may have the certificate from elsewhere; it decides whether this matters.
        if (!(error instanceof KeyMaterialError)) throw error;
        result.unreadable.push(error);
        continue;
      }
    } else {
      continue;
    }
    for (const bag of children(parseBer(safeContents, what))) readBag(bag, password, what, result);
  }
  return result;
}

function readBag(bag: asn1js.AsnType, password: string, what: string, into: Pkcs12Contents): void {
  const [bagId, wrapped] = children(bag);
  const value = children(wrapped)[0];
  switch (oidOf(bagId)) {
    case oids.keyBag:
      into.privateKeys.push(createPrivateKey({ key: Buffer.from(value.toBER()), format: 'der', type: 'pkcs8' }));
      break;
    case oids.shroudedKeyBag: {
      const [algorithm, encrypted] = children(value);
      const pkcs8 = decryptWithPassword(algorithm as asn1js.Sequence, octets(encrypted), password, `${what} (private key)`);
      into.privateKeys.push(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
      break;
    }
    case oids.certBag: {
      const [certId, certValue] = children(value);
      if (oidOf(certId) === oids.x509Certificate) into.certificates.push(new X509Certificate(octets(children(certValue)[0])));
      break;
    }
    default:
      // CRL bags, secret bags and nested safe contents are not needed for signing.
      break;
  }
}

/** RFC 7292 §5.1 / Appendix B.4: HMAC over the AuthenticatedSafe with a key derived from the password. */
function verifyMac(macData: asn1js.AsnType, authSafe: Buffer, password: string, what: string): void {
  const [digestInfo, saltNode, iterationsNode] = children(macData);
  const [algorithm, digestNode] = children(digestInfo);
  const hashOid = oidOf(children(algorithm)[0]);
  const hash = macHashes[hashOid];
  if (!hash) throw new KeyMaterialError(`${what}: unsupported MAC hash ${hashOid}`);
  const salt = octets(saltNode);
  const iterations = iterationsNode ? (iterationsNode as asn1js.Integer).valueBlock.valueDec : 1;
  const expected = octets(digestNode);
  const key = pkcs12Kdf(hash, pkcs12Password(password), salt, iterations, 3, expected.length);
  const actual = createHmac(hash, key).update(authSafe).digest();
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new KeyMaterialError(`${what}: the password is wrong or the file is damaged (integrity check failed)`);
  }
}

function parseBer(bytes: Buffer, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  if (parsed.offset === -1) throw new KeyMaterialError(`${what} is not a PKCS#12 file (${parsed.result.error})`);
  return parsed.result;
}

function children(node: asn1js.AsnType): asn1js.AsnType[] {
  const value = (node as asn1js.Constructed).valueBlock?.value;
  if (!Array.isArray(value)) throw new KeyMaterialError('unexpected PKCS#12 structure');
  return value;
}

function oidOf(node: asn1js.AsnType): string {
  return (node as asn1js.ObjectIdentifier).valueBlock.toString();
}

/** The bytes of an OCTET STRING, primitive or constructed (BER chunks), tagged universally or [n] IMPLICIT. */
function octets(node: asn1js.AsnType): Buffer {
  // asn1js also decodes a primitive OCTET STRING's content when it looks like BER, so the tag's
  // constructed bit, not the presence of children, tells chunks from content.
  if (node.idBlock.isConstructed) {
    return Buffer.concat(((node as asn1js.Constructed).valueBlock.value ?? []).map(octets));
  }
  const view = (node as asn1js.OctetString).valueBlock.valueHexView;
  return view ? Buffer.from(view) : Buffer.alloc(0);
}
