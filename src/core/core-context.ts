import type { ValidationDataSource } from '../crypto/cms/cades-baseline-lt.js';
import type { Signer } from '../crypto/keys/signer.js';
import type { TimestampClient } from '../crypto/tsp/timestamp-client.js';
import type { OutboundAddressPolicy } from '../outbound/address-policy.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import type { RegistrationSettings } from './registrations/registration-settings.js';
import type { SigningKeyStatus } from './signatures/signing-key-status.js';
import type { VerificationSettings } from './verify/verification-settings.js';

/** The calling client service as the core needs it (the config layer's ClientService fits). */
export interface ClientIdentity {
  readonly id: string;
  /** Signing keys this client may use; undefined means the key named "default" only. */
  readonly keys?: readonly string[];
  readonly callbackUrl?: string;
}

/** What every use case receives: built once at start by the HTTP/CLI layer. */
export interface CoreContext {
  store: Store;
  /** Signing keys by configured name. */
  keys: ReadonlyMap<string, Signer>;
  /** Advertised HOST:PORT of this instance (`--server.host.port`). */
  host: string;
  maxDocuments: number;
  /** RFC 3161 tokens for B-T and above: the built-in TSA, or `--tsa-url`. */
  timestamps: TimestampClient;
  /** Chains, OCSP responses and CRLs for B-LT. */
  validationData: ValidationDataSource;
  /** Whether each signing key's certificate may sign now (revoked, expired, status unknown). */
  keyStatus: Pick<SigningKeyStatus, 'assertUsable'>;
  /** Where callbacks (and URL captures) may go. */
  outbound: OutboundAddressPolicy;
  /** Registrations and user accounts (API.md §4). */
  registrations: RegistrationSettings;
  /** What POST /v1/verify trusts (API.md §6). */
  verification: VerificationSettings;
  log: Logger;
}
