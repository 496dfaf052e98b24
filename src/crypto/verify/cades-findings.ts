import { createHash } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';
import { checkArchiveTimestamps } from './archive-timestamp-check.js';
import type { TrustAnchors } from './certificate-trust.js';
import { checkSigner, messageDigestOf, type SignedContent } from './cms-signer-check.js';
import { cmsValidationValues } from './cms-validation-values.js';
import { timeOf, timestampEvidence, type SignatureFinding } from './signature-finding.js';
import { CmsFormatError, readCmsSignedData, readSignerInfo, type CmsSignedData, type CmsSignerInfo } from './signed-data.js';

/*
 * A CMS signature (CAdES or plain CMS, RFC 5652 / ETSI EN 319 122-1) as findings: the first signer,
 * checked over the content — detached (`content` given), encapsulated, or missing (then checked as far
 * as it goes: INDETERMINATE/SIGNED_DATA_NOT_FOUND, as DSS) — with its time-stamps, the validation data
 * it carries, and each countersignature (§11.4: a SignerInfo over the parent's signature value). A
 * signer certificate the CMS leaves out is looked for among the trust anchors, as DSS does.
 */

/** RFC 5652 §11.4: id-countersignature. */
const ID_COUNTERSIGNATURE = '1.2.840.113549.1.9.6';
/** Countersignatures of countersignatures are followed this deep. */
const MAX_COUNTERSIGNATURE_DEPTH = 4;

/**
 * `lenient`: the bytes were not named or typed as a CMS — if they do not read as one, the file is
 * simply not a signature (no findings) rather than a broken one.
 */
export function cadesFindings(signatureBytes: Buffer, content: Buffer | undefined, anchors: TrustAnchors, lenient = false): SignatureFinding[] {
  const field = content ? 'signature' : 'file';
  let cms: CmsSignedData;
  try {
    if (lenient && signatureBytes[0] !== 0x30) return [];
    cms = readCmsSignedData(pemOrDer(signatureBytes));
  } catch (error) {
    if (!(error instanceof CmsFormatError)) throw error;
    if (lenient) return [];
    throw new SignetError('invalid_request', `The ${field} is neither a PDF nor a CMS signature (${error.message})`, { field });
  }
  if (cms.signerInfos.length === 0) throw new SignetError('invalid_request', 'The CMS has no signer', { field });
  // The signer's certificate may be left out of the CMS and configured as an anchor instead.
  const withAnchors: CmsSignedData = { ...cms, certificates: [...cms.certificates, ...anchors.der] };
  const signedBytes = content ?? cms.eContent;
  const finding = signerFinding(withAnchors, cms.signerInfos[0]!, signedBytes, 0);
  if (cms.signerInfos.length > 1) {
    finding.evidence.problems.push(`other_signers_not_checked: the CMS has ${cms.signerInfos.length} signers; the first is reported`);
  }
  return [finding];
}

function signerFinding(cms: CmsSignedData, signer: CmsSignerInfo, content: Buffer | undefined, depth: number): SignatureFinding {
  const signedContent: SignedContent = content
    ? { digest: (name: string) => createHash(name).update(content).digest(), bytes: content }
    : // No content: its digest is taken as the signer says, so the rest of the signature is still checked.
      { digest: () => claimedDigest(signer) };
  const check = checkSigner(cms, signer, signedContent);
  const problems = [...check.problems];
  if (!content) problems.unshift('signed_data_missing: the signature is detached and the signed file was not sent with it (send it as "file", the signature as "signature")');
  if (depth > 0) {
    // A countersignature carries no contentType (§11.4), so its absence is no problem.
    problems.splice(0, problems.length, ...problems.filter((problem) => !problem.startsWith('content_type_missing')));
  }
  const archived = depth === 0 ? checkArchiveTimestamps(cms, signer, signedContent, problems) : [];
  const values = cmsValidationValues(cms, signer);
  const intact = check.intact && content !== undefined;
  let level: string | undefined;
  if (intact && check.essSigningCertificate === 'v2') {
    level = 'B-B';
    if (check.timestamp?.intact) level = 'B-T';
    if (level === 'B-T' && (values.crls.length > 0 || values.ocsps.length > 0)) level = 'B-LT';
    const baselineArchives = archived.filter((timestamp) => timestamp.version === 3);
    if (level === 'B-LT' && baselineArchives.length > 0 && baselineArchives.every((timestamp) => timestamp.intact)) level = 'B-LTA';
  }
  if (intact && check.essSigningCertificate !== 'v2' && depth === 0) {
    problems.push('not_baseline: without the signing-certificate-v2 attribute this is a CMS signature, not CAdES (ETSI EN 319 122-1 §5.2.2)');
  }
  const counterSignatures =
    depth < MAX_COUNTERSIGNATURE_DEPTH
      ? signer.unsignedAttributes
          .filter((attribute) => attribute.type === ID_COUNTERSIGNATURE)
          .flatMap((attribute) => attribute.valuesEncoded)
          .map((encoded) => countersignatureFinding(cms, signer, encoded, depth + 1))
      : [];
  return {
    format: check.essSigningCertificate === 'none' ? 'CMS' : 'CAdES',
    ...(level && { level }),
    intact,
    ...(check.timestamp && { timestamp: timeOf(check.timestamp) }),
    ...(check.contentTimestamp && { contentTimestamp: timeOf(check.contentTimestamp) }),
    evidence: {
      problems,
      ...(check.certificate && { signingCertificateDer: check.certificate.raw }),
      certificatesDer: [...cms.certificates, ...values.certificates],
      ...(check.claimedSigningTime && { claimedSigningTime: check.claimedSigningTime }),
      timestamps: [
        ...(check.timestamp ? [timestampEvidence('signature', check.timestamp)] : []),
        ...archived.map((timestamp) => timestampEvidence('archive', timestamp)),
        ...(check.contentTimestamp ? [timestampEvidence('content', check.contentTimestamp)] : []),
      ],
      revocation: { ocsps: values.ocsps, crls: values.crls },
    },
    ...(counterSignatures.length > 0 && { counterSignatures }),
  };
}

/** A countersignature signs its parent's signature value (RFC 5652 §11.4). */
function countersignatureFinding(cms: CmsSignedData, parent: CmsSignerInfo, encoded: Buffer, depth: number): SignatureFinding {
  let counter: CmsSignerInfo;
  try {
    counter = readSignerInfo(encoded);
  } catch (error) {
    return {
      format: 'CMS',
      intact: false,
      evidence: { problems: [`signature_unreadable: the countersignature cannot be read (${(error as Error).message})`], certificatesDer: [], timestamps: [], revocation: { ocsps: [], crls: [] } },
    };
  }
  return signerFinding(cms, counter, parent.signature, depth);
}

function claimedDigest(signer: CmsSignerInfo): Buffer {
  return messageDigestOf(signer) ?? Buffer.alloc(0);
}

/** A .p7s may come as PEM (`-----BEGIN PKCS7-----` or `CMS`); everything else is taken as DER/BER. */
function pemOrDer(bytes: Buffer): Buffer {
  const text = bytes.subarray(0, 64).toString('latin1');
  if (!text.startsWith('-----BEGIN')) return bytes;
  const body = bytes.toString('latin1').replace(/-----(BEGIN|END)[^-]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}
