import { SignetError } from '../../../errors/signet-error.js';
import { docMdpPermission } from '../reader/docmdp-permission.js';
import type { PdfReader } from '../reader/pdf-reader.js';

/**
 * §12.8.2.2: with /P 1 "no changes to the document shall be permitted; any change shall invalidate the
 * signature" — an approval signature would break the certification, so it is refused (SignServer does
 * the same). P 2 and P 3 allow signing.
 */
export function assertSigningPermitted(reader: PdfReader): void {
  if (docMdpPermission(reader) === 1) {
    throw new SignetError(
      CERTIFIED_NO_CHANGES_CODE,
      'The PDF is certified with DocMDP permission 1 (no changes allowed): any further signature would invalidate ' +
        'its certification signature, so it is not signed',
    );
  }
}

/** API.md fixes no code for this refusal; this one is ours (see the issue note). */
const CERTIFIED_NO_CHANGES_CODE = 'certified_no_changes_allowed' as const;
