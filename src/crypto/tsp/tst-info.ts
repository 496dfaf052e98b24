import { objectIdentifier, smallInteger, tags, tlv, type Tlv } from '../cms/der.js';
import { decodeInteger } from '../cms/der-integer.js';
import { DerShapeError, childrenOf, contentOf, decodeObjectIdentifier, encodingOf, expectTag, readWhole } from '../cms/der-reader.js';
import { accuracy } from './accuracy.js';
import { decodeMessageImprint, type DecodedMessageImprint } from './message-imprint.js';

/*
 * TSTInfo ::= SEQUENCE  {                             -- RFC 3161 §2.4.2
 *    version                      INTEGER  { v1(1) },
 *    policy                       TSAPolicyId,
 *    messageImprint               MessageImprint,
 *      -- MUST have the same value as the similar field in
 *      -- TimeStampReq
 *    serialNumber                 INTEGER,
 *     -- Time-Stamping users MUST be ready to accommodate integers
 *     -- up to 160 bits.
 *    genTime                      GeneralizedTime,
 *    accuracy                     Accuracy                 OPTIONAL,
 *    ordering                     BOOLEAN             DEFAULT FALSE,
 *    nonce                        INTEGER                  OPTIONAL,
 *      -- MUST be present if the similar field was present
 *      -- in TimeStampReq.  In that case it MUST have the same value.
 *    tsa                          [0] GeneralName          OPTIONAL,
 *    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
 *
 * ordering is left at its DEFAULT (FALSE, so absent): our genTimes are not ordered across instances.
 * tsa is left out: it is only a hint (§2.4.2), the signer certificate identifies the TSA.
 */

export interface TstInfoFields {
  /** The MessageImprint as the requester sent it (echoed byte for byte). */
  messageImprint: Buffer;
  /** The serialNumber INTEGER, encoded. */
  serialNumber: Buffer;
  genTime: Date;
  /** The requester's nonce INTEGER, encoded, echoed unchanged. */
  nonce?: Buffer;
}

/**
 * Encodes TSTInfo for one TSA: version, policy and accuracy are encoded once, per token only the imprint,
 * serial, time and nonce are concatenated (no per-token object tree).
 */
export function tstInfoEncoder(policy: string, accuracyMs: number): (fields: TstInfoFields) => Buffer {
  const head = Buffer.concat([smallInteger(1), objectIdentifier(policy)]);
  const accuracyEncoded = accuracy(accuracyMs);
  return (fields) =>
    tlv(
      tags.sequence,
      head,
      fields.messageImprint,
      fields.serialNumber,
      generalizedTime(fields.genTime),
      accuracyEncoded,
      ...(fields.nonce ? [fields.nonce] : []),
    );
}

/**
 * GeneralizedTime as RFC 3161 §2.4.2 wants genTime: YYYYMMDDhhmmss[.s...]Z, UTC, the fraction present
 * only when not zero and without trailing zeros ("19990609001326.34352Z", never ".120" or ".0").
 * We carry milliseconds, the precision of the host clock we promise with ±1 s accuracy anyway.
 */
export function generalizedTime(date: Date): Buffer {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError('Invalid date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`Year ${year} cannot be encoded as GeneralizedTime`);
  let text =
    String(year).padStart(4, '0') +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds());
  const millis = date.getUTCMilliseconds();
  if (millis !== 0) text += `.${String(millis).padStart(3, '0').replace(/0+$/, '')}`;
  return tlv(tags.generalizedTime, Buffer.from(`${text}Z`, 'latin1'));
}

function two(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

export interface DecodedTstInfo {
  version: bigint;
  policy: string;
  messageImprint: DecodedMessageImprint;
  serialNumber: bigint;
  /** The serialNumber INTEGER as encoded (TLV), for checking its encoding. */
  serialNumberEncoded: Buffer;
  genTime: Date;
  /** Accuracy in milliseconds (micros rounded up), when present. */
  accuracyMs?: number;
  ordering: boolean;
  nonce?: bigint;
  /** The tsa GeneralName as encoded, when present. */
  tsa?: Buffer;
  hasExtensions: boolean;
}

/** Decodes a DER TSTInfo (eContent of a time-stamp token); throws DerShapeError when it is not one. */
export function decodeTstInfo(der: Buffer): DecodedTstInfo {
  const info = readWhole(der, tags.sequence, 'TSTInfo');
  const [version, policy, imprint, serial, genTime, ...optional] = childrenOf(der, info, 'TSTInfo');
  if (!genTime) throw new DerShapeError('TSTInfo: required fields missing');
  const decoded: DecodedTstInfo = {
    version: decodeInteger(der, version),
    policy: decodeObjectIdentifier(der, policy),
    messageImprint: decodeMessageImprint(der, imprint),
    serialNumber: decodeInteger(der, serial),
    serialNumberEncoded: encodingOf(der, serial),
    genTime: decodeGeneralizedTime(der, expectTag(genTime, tags.generalizedTime, 'TSTInfo.genTime')),
    ordering: false,
    hasExtensions: false,
  };
  for (const field of optional) {
    if (field.tag === tags.sequence) decoded.accuracyMs = decodeAccuracyMs(der, field);
    else if (field.tag === 0x01) decoded.ordering = contentOf(der, field)[0] !== 0;
    else if (field.tag === tags.integer) decoded.nonce = decodeInteger(der, field);
    else if (field.tag === tags.contextConstructed(0)) decoded.tsa = contentOf(der, field);
    else if (field.tag === tags.contextConstructed(1)) decoded.hasExtensions = true;
    else throw new DerShapeError(`TSTInfo: unexpected field with tag 0x${field.tag.toString(16)}`);
  }
  return decoded;
}

const generalizedTimePattern = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/;

function decodeGeneralizedTime(der: Buffer, element: Tlv): Date {
  const text = contentOf(der, element).toString('latin1');
  const match = generalizedTimePattern.exec(text);
  if (!match) throw new DerShapeError(`TSTInfo.genTime "${text}" is not a UTC GeneralizedTime`);
  const [, year, month, day, hour, minute, second, fraction] = match;
  const millis = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  const date = new Date(Date.UTC(2000, +month - 1, +day, +hour, +minute, +second, millis));
  date.setUTCFullYear(+year); // Date.UTC would read years 0–99 as 1900–1999
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== +day) throw new DerShapeError(`TSTInfo.genTime "${text}" is not a date`);
  return date;
}

function decodeAccuracyMs(der: Buffer, element: Tlv): number {
  let ms = 0;
  for (const field of childrenOf(der, element, 'Accuracy')) {
    const value = Number(BigInt(`0x${contentOf(der, field).toString('hex') || '0'}`));
    if (field.tag === tags.integer) ms += value * 1000;
    else if (field.tag === 0x80) ms += value;
    else if (field.tag === 0x81) ms += Math.ceil(value / 1000);
    else throw new DerShapeError('Accuracy: unexpected field');
  }
  return ms;
}
