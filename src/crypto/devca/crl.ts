import { createPrivateKey, webcrypto } from 'node:crypto';
// @peculiar/x509 2.x resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { unsignedInteger } from '../cms/der-integer.js';

/**
 * Certificate revocation lists of the development CA (RFC 5280 §5): X.509 v2 CRLs with cRLNumber and
 * authorityKeyIdentifier, signed by the CA key, published at GET /pki/crl/{name}.crl and embedded in
 * B-LT signatures as validation data.
 */

/** File-name part of the development CA's CRL address: `/pki/crl/signet-development-ca.crl`. */
export const DEVELOPMENT_CA_CRL_NAME = 'signet-development-ca';

/** The path a CRL is published under; the HTTP layer serves it, certificates point at it. */
export function crlPath(name: string): string {
  return `/pki/crl/${name}.crl`;
}

/** `https://host/base` + crlPath; a trailing slash on the base is ignored. */
export function crlUrl(crlBaseUrl: string, name: string): string {
  return `${crlBaseUrl.replace(/\/+$/, '')}${crlPath(name)}`;
}

export interface RevokedCertificate {
  /** Serial number, hex as @peculiar/x509 and `openssl x509 -serial` write it. */
  serialNumber: string;
  revocationDate: Date;
  reason?: x509.X509CrlReason;
}

export interface CrlIssuerOptions {
  /** Name in the CRL's address (see crlPath). */
  name: string;
  caCertificatePem: string;
  caKeyPem: string;
  /** Certificates to list as revoked; read at each issue. The development CA revokes nothing by default. */
  revoked?: () => RevokedCertificate[] | Promise<RevokedCertificate[]>;
  /** nextUpdate − thisUpdate; default 7 days. */
  validityMs?: number;
  /** A CRL is reissued once this old, well before nextUpdate; default 1 day. */
  reissueAfterMs?: number;
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** thisUpdate is set this far back, as the certificates' notBefore: verifiers with a slow clock still accept it. */
const BACKDATE_MS = 5 * 60 * 1000;
/** RFC 5280 §5.2.3: id-ce-cRLNumber ::= { id-ce 20 } */
const ID_CE_CRL_NUMBER = '2.5.29.20';

/** @peculiar/x509 is handed Node's webcrypto explicitly rather than through its global provider. */
const crypto = webcrypto as unknown as Crypto;

/**
 * Issues and caches the current CRL of one CA. `current()` answers from memory (a CRL is ~600 bytes) and
 * signs a new one only when the cached one is older than `reissueAfterMs`; relying parties see a fresh
 * nextUpdate days ahead of the old one's expiry.
 */
export class CrlIssuer {
  readonly name: string;
  /** The issuing CA certificate, DER (validation data needs it beside the CRL). */
  readonly issuerCertificateDer: Buffer;
  readonly #ca: x509.X509Certificate;
  readonly #caKeyPem: string;
  readonly #revoked: () => RevokedCertificate[] | Promise<RevokedCertificate[]>;
  readonly #validityMs: number;
  readonly #reissueAfterMs: number;
  readonly #now: () => number;
  #signingKey?: Promise<CryptoKey>;
  #cached?: { issuedAt: number; crl: Promise<Buffer> };
  #lastCrlNumber = 0;

  constructor(options: CrlIssuerOptions) {
    this.name = options.name;
    this.#ca = new x509.X509Certificate(options.caCertificatePem);
    this.issuerCertificateDer = Buffer.from(this.#ca.rawData);
    this.#caKeyPem = options.caKeyPem;
    this.#revoked = options.revoked ?? (() => []);
    this.#validityMs = options.validityMs ?? 7 * DAY_MS;
    this.#reissueAfterMs = options.reissueAfterMs ?? DAY_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The current CRL, DER. Concurrent callers share one signing. */
  async current(): Promise<Buffer> {
    const now = this.#now();
    if (!this.#cached || now - this.#cached.issuedAt >= this.#reissueAfterMs) {
      const crl = this.issue();
      this.#cached = { issuedAt: now, crl };
      crl.catch(() => {
        if (this.#cached?.crl === crl) this.#cached = undefined; // do not cache a failure
      });
    }
    return this.#cached.crl;
  }

  /** The current CRL when `issuerCertificateDer` is this CA, else undefined (a B-LT ValidationDataSource's crlFor). */
  async crlFor(issuerCertificateDer: Buffer): Promise<Buffer | undefined> {
    return issuerCertificateDer.equals(this.issuerCertificateDer) ? this.current() : undefined;
  }

  /** When the cached CRL will be replaced, for HTTP caching (Cache-Control max-age). */
  secondsUntilReissue(): number {
    if (!this.#cached) return 0;
    return Math.max(0, Math.floor((this.#cached.issuedAt + this.#reissueAfterMs - this.#now()) / 1000));
  }

  /** Signs a new CRL now (and makes it the cached one only through `current`). */
  async issue(): Promise<Buffer> {
    const now = this.#now();
    const thisUpdate = new Date(now - BACKDATE_MS);
    thisUpdate.setUTCMilliseconds(0);
    const revoked = await this.#revoked();
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: this.#ca.subjectName, // the CA's encoded Name, so CRL issuer and certificate issuer compare byte for byte
        thisUpdate,
        nextUpdate: new Date(thisUpdate.getTime() + this.#validityMs),
        signingAlgorithm: signingAlgorithmFor(this.#caKeyPem),
        signingKey: await this.#key(),
        entries: revoked.map((entry) => ({
          serialNumber: entry.serialNumber,
          revocationDate: entry.revocationDate,
          reason: entry.reason,
          // @peculiar/x509 writes an entry without extensions as an empty crlEntryExtensions, which RFC 5280
          // forbids (SIZE (1..MAX)) and strict readers refuse; an entry without a reason states its
          // invalidity date (§5.3.2) instead, the revocation date.
          ...(!entry.reason && { invalidity: entry.revocationDate }),
        })),
        extensions: [
          new x509.Extension(ID_CE_CRL_NUMBER, false, new Uint8Array(unsignedInteger(this.#nextCrlNumber(now)))),
          ...authorityKeyIdentifier(this.#ca),
        ],
      },
      crypto,
    );
    return Buffer.from(crl.rawData);
  }

  /**
   * RFC 5280 §5.2.3: cRLNumber increases with each CRL of a CA. The issue time in milliseconds does that
   * across restarts and across instances sharing the CA without any stored counter; within a process the
   * number is bumped if two CRLs are issued in the same millisecond.
   */
  #nextCrlNumber(now: number): bigint {
    this.#lastCrlNumber = Math.max(now, this.#lastCrlNumber + 1);
    return BigInt(this.#lastCrlNumber);
  }

  #key(): Promise<CryptoKey> {
    this.#signingKey ??= importSigningKey(this.#caKeyPem);
    return this.#signingKey;
  }
}

/** The development CA's CRL issuer, named DEVELOPMENT_CA_CRL_NAME. */
export function developmentCrlIssuer(
  pki: { caCertificatePem: string; caKeyPem: string },
  options: Omit<CrlIssuerOptions, 'name' | 'caCertificatePem' | 'caKeyPem'> = {},
): CrlIssuer {
  return new CrlIssuer({ name: DEVELOPMENT_CA_CRL_NAME, caCertificatePem: pki.caCertificatePem, caKeyPem: pki.caKeyPem, ...options });
}

/** RFC 5280 §5.2.1: the CA's subjectKeyIdentifier, so relying parties pick the right CA key after a rekey. */
function authorityKeyIdentifier(ca: x509.X509Certificate): x509.Extension[] {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)] : [];
}

function signingAlgorithmFor(keyPem: string): RsaHashedImportParams | EcdsaParams {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (key.asymmetricKeyType === 'ec') return { name: 'ECDSA', hash: 'SHA-256' };
  throw new TypeError(`CRLs can be signed with RSA or EC CA keys, not ${key.asymmetricKeyType}`);
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const key = createPrivateKey(keyPem);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const algorithm =
    key.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : { name: 'ECDSA', namedCurve: webCryptoCurve(key.asymmetricKeyDetails?.namedCurve) };
  return crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), algorithm, false, ['sign']);
}

function webCryptoCurve(namedCurve: string | undefined): string {
  const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
  const curve = namedCurve && curves[namedCurve];
  if (!curve) throw new TypeError(`Unsupported CA curve ${namedCurve}`);
  return curve;
}
