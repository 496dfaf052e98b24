import { setOf } from './der.js';

/*
 * CertificateSet ::= SET OF CertificateChoices       -- RFC 5652 §10.2.3
 *
 * CertificateChoices ::= CHOICE {
 *   certificate Certificate,
 *   ... }
 */

/** Sorted as DER requires; verifiers look certificates up by issuer and serial, not by position. */
export function certificateSet(certificatesDer: Buffer[]): Buffer {
  return setOf(certificatesDer);
}
