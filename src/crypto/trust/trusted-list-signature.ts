import { X509Certificate } from 'node:crypto';
import { verifyXmlSignatures } from '../xml/validation/xml-signatures.js';
import { oneLine } from '../verify/cms-signer-check.js';
import { TrustedListError } from './trusted-list.js';

/*
 * A trusted list is only as good as its signature (ETSI TS 119 612 §5.7): one enveloped XML signature
 * over the whole list (XMLDSig core validation, the same strict reference checks as POST /v1/verify),
 * made with one of the certificates the relying party was told to expect — `--trust-list-signers` for
 * a list configured directly, the ServiceDigitalIdentity of its pointer for a list a list of lists
 * points to. Keys are compared, not names: a certificate re-issued for the same key still signs.
 */
export function checkTrustedListSignature(bytes: Buffer, expectedSigners: readonly Buffer[]): X509Certificate {
  const signatures = verifyXmlSignatures(bytes);
  if (signatures.length !== 1) throw new TrustedListError(`the list carries ${signatures.length} XML signatures; a trusted list has exactly one`);
  const [signature] = signatures;
  const refusal = signature!.problems.find((problem) => /^(partial_coverage|signature_|digest_|reference_|unsupported_|signed_properties_|certificate_)/.test(problem));
  if (!signature!.intact || refusal) throw new TrustedListError(`its signature does not hold: ${refusal ?? signature!.problems[0] ?? 'not intact'}`);
  const signer = signature!.certificate;
  if (!signer) throw new TrustedListError('its signature names no certificate');
  const signerKey = signer.publicKey.export({ type: 'spki', format: 'der' });
  const expected = expectedSigners.some((der) => {
    try {
      return new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }).equals(signerKey);
    } catch {
      return false;
    }
  });
  if (!expected) throw new TrustedListError(`it is signed by "${oneLine(signer.subject)}", which is not among the expected signers`);
  return signer;
}
