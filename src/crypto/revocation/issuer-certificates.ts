import { issuedBy as issuedByParsed, parsedCertificate } from '../cms/parsed-certificates.js';
import { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { readPkijs } from '../cms/read-ber.js';

/**
 * What an AIA caIssuers URL serves (RFC 5280 §4.2.2.1): a DER certificate, or a certs-only CMS
 * SignedData ("PKCS #7", .p7c) holding one or more; PEM is accepted too. Pure: bytes in, the DER of
 * each certificate out; anything else is refused with an Error.
 */
export function issuerCertificatesFrom(bytes: Buffer): Buffer[] {
  const text = bytes.subarray(0, 64).toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = [...bytes.toString('latin1').matchAll(/-----BEGIN (CERTIFICATE|PKCS7)-----([\s\S]*?)-----END \1-----/g)];
    if (blocks.length === 0) throw new Error('a PEM file without a certificate');
    return blocks.flatMap(([, kind, body]) => {
      const der = Buffer.from(body!.replace(/\s+/g, ''), 'base64');
      return kind === 'PKCS7' ? certificatesOfSignedData(der) : [der];
    });
  }
  try {
    new X509Certificate(bytes);
    return [bytes];
  } catch {
    return certificatesOfSignedData(bytes);
  }
}

function certificatesOfSignedData(der: Buffer): Buffer[] {
  let signedData: pkijs.SignedData;
  try {
    const info = readPkijs(pkijs.ContentInfo, new Uint8Array(der));
    if (info.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error(`content type ${info.contentType}`);
    signedData = new pkijs.SignedData({ schema: info.content });
  } catch (error) {
    throw new Error(`neither a certificate nor a certs-only PKCS #7: ${(error as Error).message}`);
  }
  const certificates = (signedData.certificates ?? []).filter((entry): entry is pkijs.Certificate => entry instanceof pkijs.Certificate);
  if (certificates.length === 0) throw new Error('a PKCS #7 without certificates');
  return certificates.map((certificate) => Buffer.from(certificate.toSchema().toBER()));
}

/** True when `issuerDer` issued `certificateDer`: names chain and the issuer's key verifies the signature. */
export function issuedBy(certificateDer: Buffer, issuerDer: Buffer): boolean {
  return issuedByParsed(parsedCertificate(certificateDer), parsedCertificate(issuerDer));
}

export function isSelfSigned(certificateDer: Buffer): boolean {
  return issuedBy(certificateDer, certificateDer);
}
