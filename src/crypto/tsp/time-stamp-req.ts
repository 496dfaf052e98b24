import { objectIdentifier, sequence, smallInteger, tags } from '../cms/der.js';
import { decodeInteger, unsignedInteger } from '../cms/der-integer.js';
import { DerShapeError, childrenOf, contentOf, decodeObjectIdentifier, encodingOf, readWhole } from '../cms/der-reader.js';
import { decodeMessageImprint, messageImprint, type DecodedMessageImprint } from './message-imprint.js';
import type { ImprintHash } from './oids.js';

/*
 * TimeStampReq ::= SEQUENCE  {                        -- RFC 3161 §2.4.1
 *    version                      INTEGER  { v1(1) },
 *    messageImprint               MessageImprint,
 *    reqPolicy             TSAPolicyId              OPTIONAL,
 *    nonce                 INTEGER                  OPTIONAL,
 *    certReq               BOOLEAN                  DEFAULT FALSE,
 *    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
 *
 * TSAPolicyId ::= OBJECT IDENTIFIER
 */

/** X.690 universal tag 1; der.ts has no BOOLEAN since CMS signing never needs one. */
const BOOLEAN = 0x01;

export interface TimeStampReqFields {
  hash: ImprintHash;
  hashedMessage: Buffer;
  reqPolicy?: string;
  nonce?: bigint;
  certReq?: boolean;
}

/** What a client sends (HttpTimestampClient); certReq FALSE is the DEFAULT, so DER leaves it out. */
export function timeStampReq(fields: TimeStampReqFields): Buffer {
  return sequence(
    smallInteger(1),
    messageImprint(fields.hash, fields.hashedMessage),
    ...(fields.reqPolicy ? [objectIdentifier(fields.reqPolicy)] : []),
    ...(fields.nonce !== undefined ? [unsignedInteger(fields.nonce)] : []),
    ...(fields.certReq ? [Buffer.from([BOOLEAN, 0x01, 0xff])] : []),
  );
}

export interface DecodedTimeStampReq {
  version: bigint;
  messageImprint: DecodedMessageImprint;
  reqPolicy?: string;
  /** The nonce INTEGER exactly as received (TLV), echoed unchanged into TSTInfo. */
  nonceEncoded?: Buffer;
  certReq: boolean;
  hasExtensions: boolean;
}

/** Longest nonce we echo: RFC 3161 suggests 64 bits; 64 octets leave room for any sane client. */
const MAX_NONCE_OCTETS = 64;

/**
 * Decodes a TimeStampReq; throws DerShapeError when it is not one (the TSA answers badDataFormat).
 * Version, policy, algorithm and extensions are reported, not judged: choosing the failure is the TSA's.
 */
export function decodeTimeStampReq(der: Buffer): DecodedTimeStampReq {
  const request = readWhole(der, tags.sequence, 'TimeStampReq');
  const [versionField, imprintField, ...optional] = childrenOf(der, request, 'TimeStampReq');
  if (!versionField || !imprintField) throw new DerShapeError('TimeStampReq: version or messageImprint missing');
  const version = decodeInteger(der, versionField);
  const decoded: DecodedTimeStampReq = {
    version,
    messageImprint: decodeMessageImprint(der, imprintField),
    certReq: false,
    hasExtensions: false,
  };
  // The optional fields have distinct tags and a fixed order; anything else, or a repeat, is malformed.
  const order = [tags.objectIdentifier, tags.integer, BOOLEAN, tags.contextConstructed(0)];
  let position = 0;
  for (const field of optional) {
    const index = order.indexOf(field.tag, position);
    if (index < 0) throw new DerShapeError(`TimeStampReq: unexpected field with tag 0x${field.tag.toString(16)}`);
    position = index + 1;
    switch (field.tag) {
      case tags.objectIdentifier:
        decoded.reqPolicy = decodeObjectIdentifier(der, field);
        break;
      case tags.integer:
        decodeInteger(der, field); // checks it is a well-formed INTEGER
        if (field.end - field.contentStart > MAX_NONCE_OCTETS) throw new DerShapeError('TimeStampReq: nonce is too long');
        decoded.nonceEncoded = encodingOf(der, field);
        break;
      case BOOLEAN: {
        const value = contentOf(der, field);
        if (value.length !== 1) throw new DerShapeError('TimeStampReq: certReq is not a BOOLEAN');
        decoded.certReq = value[0] !== 0x00; // DER says 0xFF; BER allows any non-zero octet
        break;
      }
      default:
        decoded.hasExtensions = true;
    }
  }
  return decoded;
}
