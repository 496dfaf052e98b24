import type { OperationDocument } from '../../core/signatures/operation-document.js';
import { contentTypeForName, resolveSignatureOptions } from '../../core/signatures/signature-options.js';
import type { SignatureOperationRequest } from '../../core/signatures/submit-signature-operation.js';
import { SignetError } from '../../errors/signet-error.js';

/*
 * Sign'Stash answers that carry signed content (returnSignedContent, …/contentInResponse/true,
 * …/detail/withExternalReference) hold every signed byte in one JSON body, as base64: 4/3 of the bytes
 * as one string, then again inside the serialised body. Above the limit (--max-inline-content) the
 * answer is refused with 413 and the ZIP route named, which streams any size; the check is made
 * from the stored sizes, before any content is read, so memory stays bounded by the limit.
 */

const ZIP_ROUTE = 'GET api/v0/operation/sign/detail/{operationId}/documents';

/**
 * Before a sync request with returnSignedContent is signed: a PAdES or XAdES document signs into at
 * least its own size (the signature is added to it), so when those inputs alone exceed the limit the
 * answer could never be given — refuse before any signing work. (CAdES answers only the detached
 * signature, a few KB, so it does not count.)
 */
export function assertInlineWithinLimitBeforeSigning(request: SignatureOperationRequest, sizes: number[], limit: number): void {
  let lowerBound = 0;
  request.documents.forEach((doc, index) => {
    const format = resolveSignatureOptions(request.signature, doc.signature, doc.contentType ?? contentTypeForName(doc.name)).format;
    if (format === 'PAdES' || format === 'XAdES') lowerBound += sizes[index] ?? 0;
  });
  if (lowerBound > limit) {
    throw new SignetError(
      'inline_content_too_large',
      `returnSignedContent would put more than ${lowerBound} bytes of signed documents in the answer, over the ${limit}-byte limit ` +
        `for content inline (--max-inline-content). Nothing was signed. Send returnSignedContent false (or use the async route) ` +
        `and download the signed documents as a ZIP: ${ZIP_ROUTE}.`,
    );
  }
}

/** Before the signed content of an operation is read to be inlined. */
export function assertInlineWithinLimit(documents: readonly OperationDocument[], limit: number, operationNumber: number): void {
  const total = documents.reduce((sum, doc) => sum + (doc.status === 'SIGNED' ? (doc.signedSize ?? doc.size) : 0), 0);
  if (total > limit) {
    throw new SignetError(
      'inline_content_too_large',
      `Operation ${operationNumber} holds ${total} bytes of signed documents, over the ${limit}-byte limit for content inline ` +
        `(--max-inline-content). Download them as a ZIP: ${ZIP_ROUTE.replace('{operationId}', String(operationNumber))} ` +
        `(or ask for the detail with contentInResponse false).`,
    );
  }
}
