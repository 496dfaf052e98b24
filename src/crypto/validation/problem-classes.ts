/*
 * Which ETSI EN 319 102-1 building block a reader's problem belongs to, by its stable code, and so
 * whether it decides the verdict (an error) or is reported only (a warning). The split follows EU
 * DSS's default validation policy where it has one (MANIFEST.md quotes it): a /ByteRange that is not
 * the signature's own, a signature dictionary changed after signing and a changed page count are
 * format failures; other changes after signing, coverage of only some XML elements, a missing
 * signing-certificate reference or a broken time-stamp are reported as warnings.
 */

export type ProblemClass =
  | 'FORMAT_FAILURE'
  | 'NO_SIGNING_CERTIFICATE_FOUND'
  | 'HASH_FAILURE'
  | 'SIG_CRYPTO_FAILURE'
  | 'SIGNED_DATA_NOT_FOUND'
  | 'UNSUPPORTED'
  | 'WARNING';

const classes: Record<string, ProblemClass> = {
  // Format checking (§5.2.2)
  byte_range_invalid: 'FORMAT_FAILURE',
  signature_unreadable: 'FORMAT_FAILURE',
  signature_malformed: 'FORMAT_FAILURE',
  signature_reused: 'FORMAT_FAILURE',
  not_detached: 'FORMAT_FAILURE',
  coverage_nonstandard: 'FORMAT_FAILURE',
  signature_dictionary_modified: 'FORMAT_FAILURE',
  pages_changed: 'FORMAT_FAILURE',
  // Identification of the signing certificate (§5.2.3)
  signer_certificate_missing: 'NO_SIGNING_CERTIFICATE_FOUND',
  certificate_unreadable: 'NO_SIGNING_CERTIFICATE_FOUND',
  signer_unidentified: 'NO_SIGNING_CERTIFICATE_FOUND',
  key_unreadable: 'NO_SIGNING_CERTIFICATE_FOUND',
  signing_certificate_mismatch: 'NO_SIGNING_CERTIFICATE_FOUND',
  // Cryptographic verification (§5.2.7)
  digest_mismatch: 'HASH_FAILURE',
  signature_invalid: 'SIG_CRYPTO_FAILURE',
  signed_attributes_not_der: 'SIG_CRYPTO_FAILURE',
  signed_properties_misplaced: 'SIGNED_DATA_NOT_FOUND',
  signed_properties_not_signed: 'SIGNED_DATA_NOT_FOUND',
  reference_ambiguous: 'SIGNED_DATA_NOT_FOUND',
  unsupported_reference: 'SIGNED_DATA_NOT_FOUND',
  unsupported_transform: 'SIGNED_DATA_NOT_FOUND',
  signed_data_missing: 'SIGNED_DATA_NOT_FOUND',
  unsupported_algorithm: 'UNSUPPORTED',
};

export function problemCode(problem: string): string {
  const colon = problem.indexOf(':');
  return colon < 0 ? problem : problem.slice(0, colon);
}

export function classOf(problem: string): ProblemClass {
  return classes[problemCode(problem)] ?? 'WARNING';
}
