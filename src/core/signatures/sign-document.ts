import { addLongTermValidationData, type ValidationDataSource } from '../../crypto/cms/cades-baseline-lt.js';
import { addArchiveTimestamp } from '../../crypto/cms/cades-baseline-lta.js';
import { addSignatureTimestamp } from '../../crypto/cms/cades-baseline-t.js';
import { createCadesDetachedSignature } from '../../crypto/cms/cades-detached.js';
import { extendCadesSignature } from '../../crypto/cms/cades-extend.js';
import type { Signer, SignerHash } from '../../crypto/keys/signer.js';
import { padesCmsFactory } from '../../crypto/pdf/pades/pades-cms.js';
import { extendPdfSignatures } from '../../crypto/pdf/pades/extend-signatures.js';
import { extendPadesLevel } from '../../crypto/pdf/pades/pades-levels.js';
import { signPdfDetailed } from '../../crypto/pdf/pades/sign-pdf.js';
import type { TimestampClient } from '../../crypto/tsp/timestamp-client.js';
import { extendXadesSignature } from '../../crypto/xml/xades-extend.js';
import { signXades } from '../../crypto/xml/xades-sign.js';
import { SignetError } from '../../errors/signet-error.js';
import type { DocumentRow } from '../../store/document-repository.js';
import type { CoreContext } from '../core-context.js';
import type { ResolvedSignatureOptions, SignatureLevel } from './signature-options.js';

export interface SigningTools {
  signer: Signer;
  timestamps: TimestampClient;
  validationData: ValidationDataSource;
  /** The stored document bytes (read only by the formats that embed the signature). */
  readContent(): Promise<Buffer>;
}

/** What signing a document needs of its row: format, level, options and what the content is. */
export type DocumentToSign = Pick<DocumentRow, 'format' | 'level' | 'options_json' | 'content_type' | 'sha256'>;

/**
 * Signs with this service's key named in the options, its time-stamps and validation data — unless the
 * key's certificate is revoked or expired (or its status cannot be established: the document waits).
 */
export async function signWithServiceKeys(context: CoreContext, document: DocumentToSign, readContent: () => Promise<Buffer>): Promise<SignedBytes> {
  const { key, extend } = JSON.parse(document.options_json) as { key: string; extend?: boolean };
  if (extend) return extendDocument(document, { timestamps: context.timestamps, validationData: context.validationData, readContent });
  const signer = context.keys.get(key);
  if (!signer) throw new SignetError('invalid_request', `The signing key "${key}" is no longer configured`);
  await context.keyStatus.assertUsable(key);
  return signDocument(document, { signer, timestamps: context.timestamps, validationData: context.validationData, readContent });
}

/**
 * A signed artefact: one buffer, or pieces to be stored one after the other (a PDF's original bytes
 * and its signature update, not copied together: see PdfParts).
 */
export type SignedBytes = Buffer | readonly Buffer[];

/**
 * Produces the signed artefact for one stored document at its format and level (ETSI baseline
 * profiles). What is not available yet fails the document — only it — with a code saying so.
 */
export async function signDocument(document: DocumentToSign, tools: SigningTools): Promise<SignedBytes> {
  const options = JSON.parse(document.options_json) as Omit<ResolvedSignatureOptions, 'format' | 'level'> & {
    signatureLocation?: string;
    /** Hash-only documents (hash-only-document.ts): the client's digest, checked at submission. */
    digest?: { hash: SignerHash; hex: string };
  };
  const level = document.level;
  const signingTime = new Date();
  switch (document.format) {
    case 'CAdES': {
      // Detached: the signature (and B-LTA's archive time-stamp) covers the digest computed while the
      // upload was stored — or the one the client sent instead of the content — so nothing is read again.
      const messageDigest = Buffer.from(options.digest?.hex ?? document.sha256, 'hex');
      let cms = await createCadesDetachedSignature({
        messageDigest,
        digestAlgorithm: options.digest?.hash ?? 'sha256',
        signer: tools.signer,
        // The PAdES profile has no signingTime attribute (EN 319 142-1 §6.3): the PDF's /M says when.
        ...(options.profile !== 'PAdES' && { signingTime }),
      });
      if (level !== 'B-B') cms = await addSignatureTimestamp(cms, tools.timestamps);
      if (level === 'B-LT') cms = await addLongTermValidationData(cms, tools.validationData);
      // B-LTA = B-LT + archive-time-stamp-v3: addArchiveTimestamp embeds B-LT's validation data first.
      if (level === 'B-LTA') {
        cms = await addArchiveTimestamp(cms, { contentDigest: messageDigest, timestampClient: tools.timestamps, validationData: tools.validationData });
      }
      return cms;
    }
    case 'PAdES': {
      const signed = await signPdfDetailed(await tools.readContent(), {
        signer: tools.signer,
        signingTime,
        reason: options.reason,
        location: options.location,
        visible: options.visible,
        existingField: options.field,
        createCms: padesCmsFactory(tools.signer, level === 'B-B' ? {} : { timestampClient: tools.timestamps }),
      });
      if (level !== 'B-LT' && level !== 'B-LTA') return signed.parts;
      // B-LT adds a DSS, B-LTA then a document time-stamp: further incremental updates (pades-levels.ts).
      const extended = await extendPadesLevel(Buffer.concat(signed.parts), {
        level,
        validationData: tools.validationData,
        timestampClient: tools.timestamps,
        fieldName: signed.fieldName,
        signature: { fieldName: signed.fieldName, contents: signed.signatureContents() },
      });
      return extended.parts;
    }
    case 'XAdES': {
      return signXades(await tools.readContent(), {
        signer: tools.signer,
        signingTime,
        level: level as SignatureLevel,
        timestampClient: tools.timestamps,
        validationData: tools.validationData,
        signatureLocation: options.signatureLocation,
        mimeType: document.content_type.split(';')[0],
      });
    }
    default:
      throw new SignetError('unsupported_format', `Unknown signature format "${document.format}"`);
  }
}

/**
 * Raises the signatures a document already carries to its level (API.md §3 "Extending existing
 * signatures"): no key signs; validation data and time-stamps are added.
 */
export async function extendDocument(document: DocumentToSign, tools: Omit<SigningTools, 'signer'>): Promise<SignedBytes> {
  const level = document.level;
  if (level !== 'B-LT' && level !== 'B-LTA') throw new SignetError('invalid_request', `Extending raises signatures to B-LT or B-LTA, not ${level}`);
  const options = { level, validationData: tools.validationData, timestampClient: tools.timestamps } as const;
  switch (document.format) {
    case 'PAdES':
      return extendPdfSignatures(await tools.readContent(), options);
    case 'CAdES': {
      const { originalSha256 } = JSON.parse(document.options_json) as { originalSha256?: string };
      return extendCadesSignature(await tools.readContent(), { ...options, ...(originalSha256 && { originalSha256: Buffer.from(originalSha256, 'hex') }) });
    }
    case 'XAdES':
      return extendXadesSignature(await tools.readContent(), options);
    default:
      throw new SignetError('unsupported_format', `Unknown signature format "${document.format}"`);
  }
}
