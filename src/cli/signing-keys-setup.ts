import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { readSigningKeysConfig, resolveSecretReference } from '../config/signing-keys.js';
import { developmentCrlIssuer, type CrlIssuer } from '../crypto/devca/crl.js';
import { ensureDevelopmentPki, type DevelopmentPki } from '../crypto/devca/development-pki.js';
import { OcspResponder } from '../crypto/devca/ocsp-responder.js';
import type { CscTransport } from '../crypto/keys/csc-signer.js';
import { loadSigner } from '../crypto/keys/load-signer.js';
import { createPemSigner } from '../crypto/keys/pem-signer.js';
import type { Signer } from '../crypto/keys/signer.js';
import type { SigningThreads } from '../crypto/keys/signing-threads.js';
import type { Logger } from '../util/logger.js';

export interface SigningKeys {
  /** Signing keys by name, as clients ask for them. */
  keys: Map<string, Signer>;
  /** The key of the built-in time-stamping authority. */
  tsa: Signer;
  /** The development PKI when it is in use (no signing-keys.json, or one without "tsa"). */
  developmentPki?: DevelopmentPki;
  /** What a relying party must trust: the root of every configured chain, PEM. */
  trustAnchorsPem: string;
  /** CRL issuers Signet runs itself (the development CA), served at /pki/crl/{name}.crl. */
  crlIssuers: CrlIssuer[];
  /** The OCSP responder of the development CA when it is in use, served at /pki/ocsp. */
  ocspResponder?: OcspResponder;
  /** Every certificate of every configured chain: validation data for B-LT. */
  chainCertificates: Buffer[];
}

/**
 * The keys this instance signs with (software keys on `threads`): those of `signing-keys.json` when the work folder has one,
 * otherwise the development PKI (created on first start, and announced in the log).
 */
export async function setUpSigningKeys(
  workFolder: string,
  log: Logger,
  crlBaseUrl: string,
  threads?: SigningThreads,
  cscTransport?: CscTransport,
): Promise<SigningKeys> {
  const configured = await readSigningKeysConfig(workFolder);
  let developmentPki: DevelopmentPki | undefined;
  if (!configured || !configured.tsa) {
    const folder = path.join(workFolder, 'pki');
    developmentPki = await ensureDevelopmentPki(folder, { crlBaseUrl, threads });
    if (developmentPki.created) log.warn({ folder }, 'created a development PKI (CA, signing and TSA keys); not for production trust');
  }
  const resolve = (reference: string, what: string) => resolveSecretReference(reference, workFolder, what);

  const keys = new Map<string, Signer>();
  if (configured) {
    for (const [name, source] of configured.keys) {
      keys.set(name, await loadSigner(name, source, resolve, threads, cscTransport));
      log.info({ key: name, type: source.type }, 'signing key loaded');
    }
  } else {
    keys.set('default', developmentPki!.signer);
  }
  const tsa = configured?.tsa ? await loadSigner('tsa', configured.tsa, resolve, threads, cscTransport) : developmentTsaSigner(developmentPki!, threads);
  const anchors = new Set<string>();
  for (const signer of [...keys.values(), tsa]) anchors.add(rootOf(signer));
  if (developmentPki) anchors.add(new X509Certificate(developmentPki.caCertificatePem).toString());
  const chainCertificates = new Map<string, Buffer>();
  for (const signer of [...keys.values(), tsa]) {
    for (const der of [signer.certificateDer, ...signer.chainDer]) chainCertificates.set(der.toString('base64'), der);
  }
  return {
    keys,
    tsa,
    developmentPki,
    trustAnchorsPem: [...anchors].join(''),
    crlIssuers: developmentPki ? [developmentCrlIssuer(developmentPki)] : [],
    ...(developmentPki && {
      ocspResponder: new OcspResponder({
        caCertificatePem: developmentPki.caCertificatePem,
        caKeyPem: developmentPki.caKeyPem,
        issued: [developmentPki.signer.certificateDer, developmentPki.tsa.certificateDer],
      }),
    }),
    chainCertificates: [...chainCertificates.values()],
  };
}

/** The last certificate of the chain (the root), or the certificate itself when no chain is given. */
function rootOf(signer: Signer): string {
  const top = signer.chainDer.length > 0 ? signer.chainDer[signer.chainDer.length - 1] : signer.certificateDer;
  return new X509Certificate(top).toString();
}

function developmentTsaSigner(pki: DevelopmentPki, threads?: SigningThreads): Signer {
  return createPemSigner({ name: 'tsa', keyPem: pki.tsa.keyPem, certificatePem: pki.tsa.certificatePem, chainPem: pki.caCertificatePem, threads });
}
