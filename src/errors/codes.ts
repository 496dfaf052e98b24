/**
 * Every stable error code of the public contract, with its HTTP status and a default message.
 *
 * This module imports nothing of ours so that every layer can name a code. Lower layers throw
 * `SignetError` with one of these codes; only the HTTP layer turns them into problem+json.
 * `test/error-codes.test.ts` fails when this table and API.md disagree on a code API.md names.
 */
export const errorCodes = {
  // request shape
  invalid_request: { status: 400, title: 'The request is not valid' },
  invalid_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_base64: { status: 400, title: 'A document content is not valid base64' },
  too_many_documents: { status: 400, title: 'Too many documents in one operation' },
  unsupported_media_type: { status: 415, title: 'The request content type is not supported' },
  payload_too_large: { status: 413, title: 'The request body is larger than the configured maximum' },
  // SOAP (COPYTRUST surface)
  invalid_envelope: { status: 400, title: 'The SOAP envelope is not well-formed XML or not a SOAP envelope' },
  unknown_operation: { status: 400, title: 'The SOAP body names no operation of the COPYTRUST service' },
  must_understand: { status: 400, title: 'A SOAP header marked mustUnderstand is not understood' },
  version_mismatch: { status: 400, title: 'The Envelope is not in the SOAP 1.1 or SOAP 1.2 namespace' },
  // authentication and tenancy
  unauthorized: { status: 401, title: 'Authentication is required or failed' },
  invalid_client: { status: 401, title: 'Unknown client or wrong secret' },
  unsupported_grant_type: { status: 400, title: 'Only the client_credentials grant is supported' },
  too_many_failed_attempts: { status: 429, title: 'Too many failed authentication attempts' },
  invalid_credentials: { status: 401, title: 'Wrong e-mail address or password' },
  csrf_failed: { status: 403, title: 'The form is stale or was not sent by this site; reload it and try again' },
  reset_link_invalid: { status: 400, title: 'The password-reset link has expired or was used already' },
  key_not_allowed: { status: 403, title: 'The client service may not use this signing key' },
  not_found: { status: 404, title: 'Not found' },
  // tasks
  duplicate_external_reference: {
    status: 409,
    title: 'The external reference is already used with different content',
  },
  task_not_cancellable: { status: 409, title: 'Only a PENDING task can be cancelled' },
  task_not_finished: { status: 409, title: 'The task has not finished yet' },
  task_not_retryable: { status: 409, title: 'Only a FAILED task can be retried' },
  no_callback_configured: { status: 409, title: 'The task has no callback URL' },
  // documents (per-document failures; also task failures)
  invalid_pdf: { status: 422, title: 'The document is not a readable PDF' },
  encrypted_pdf: { status: 422, title: 'The PDF is encrypted' },
  signature_field_not_found: { status: 422, title: 'The PDF has no empty signature field of that name' },
  placeholder_not_found: { status: 422, title: 'The placeholder text for the visible signature is not in the PDF' },
  certified_no_changes_allowed: { status: 422, title: 'The PDF is certified with no changes allowed; another signature would break it' },
  invalid_xml: { status: 422, title: 'The document is not acceptable XML' },
  unsupported_format: { status: 422, title: 'The signature format is not supported for this document' },
  unsupported_level: { status: 422, title: 'The signature level is not supported yet' },
  all_documents_failed: { status: 422, title: 'No document of the operation could be signed' },
  document_not_signed: { status: 409, title: 'The document was not signed' },
  not_signed: { status: 422, title: 'The document carries no signature to extend' },
  purged: { status: 410, title: 'The content was deleted after the retention period; the record remains' },
  inline_content_too_large: { status: 413, title: 'The signed content is too large to return inline; download it as a ZIP' },
  // registrations
  invalid_rid: { status: 400, title: 'The RID is mistyped: its format or check symbol is wrong' },
  capture_failed: { status: 502, title: 'The page could not be fetched for registration' },
  capture_too_large: { status: 422, title: 'The page is larger than the capture limit' },
  // outbound requests (URL capture, callbacks)
  url_not_allowed: { status: 422, title: 'The address is not allowed for outbound requests' },
  // time-stamping (RFC 3161): unreachable / overloaded TSA is transient, a refused or wrong answer is not
  tsa_unavailable: { status: 503, title: 'The time-stamping authority is unavailable' },
  tsa_failed: { status: 502, title: 'The time-stamping authority refused the request or answered with an invalid token' },
  // remote signing keys (CSC API v2): unreachable or overloaded is transient, a refusal is not
  signing_service_unavailable: { status: 503, title: 'The remote signing service cannot be reached right now' },
  signing_service_failed: { status: 502, title: 'The remote signing service refused the request or answered something unusable' },
  // long-term validation data (B-LT): chains and revocation lists of the signer and the TSA
  validation_data_unavailable: { status: 503, title: 'The certificate chain or revocation data for B-LT could not be obtained' },
  certificate_revoked: { status: 422, title: 'A certificate of the signature or its time-stamp is revoked' },
  certificate_expired: { status: 422, title: 'The signing certificate has expired' },
  // verification (public): more at once than --max-verifications
  verification_busy: { status: 503, title: 'Too many documents are being verified right now; retry shortly' },
  // operations
  not_ready: { status: 503, title: 'The service is not ready' },
  database_unavailable: { status: 503, title: 'The database cannot be reached right now; retry shortly' },
  internal_error: { status: 500, title: 'Internal error' },
  shutting_down: { status: 503, title: 'The service is shutting down' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;
