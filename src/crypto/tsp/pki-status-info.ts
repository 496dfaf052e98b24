import { sequence, smallInteger, tags, tlv, type Tlv } from '../cms/der.js';
import { decodeInteger } from '../cms/der-integer.js';
import { DerShapeError, childrenOf, contentOf, expectTag } from '../cms/der-reader.js';

/*
 * PKIStatusInfo ::= SEQUENCE {                        -- RFC 3161 §2.4.2 (from RFC 2510 / RFC 4210)
 *    status        PKIStatus,
 *    statusString  PKIFreeText     OPTIONAL,
 *    failInfo      PKIFailureInfo  OPTIONAL  }
 *
 * PKIStatus ::= INTEGER {
 *    granted                (0),
 *    grantedWithMods        (1),
 *    rejection              (2),
 *    waiting                (3),
 *    revocationWarning      (4),
 *    revocationNotification (5) }
 *
 * PKIFailureInfo ::= BIT STRING {
 *    badAlg               (0),
 *    badRequest           (2),
 *    badDataFormat        (5),
 *    timeNotAvailable    (14),
 *    unacceptedPolicy    (15),
 *    unacceptedExtension (16),
 *    addInfoNotAvailable (17),
 *    systemFailure       (25) }
 *
 * PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String   -- RFC 4210 §5.1.1
 */

export const pkiStatus = {
  granted: 0,
  grantedWithMods: 1,
  rejection: 2,
  waiting: 3,
  revocationWarning: 4,
  revocationNotification: 5,
} as const;

export const pkiFailureInfo = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;

export type PkiFailure = keyof typeof pkiFailureInfo;

const BIT_STRING = 0x03;
const UTF8_STRING = 0x0c;

export function pkiStatusInfo(status: number, statusString?: string, failure?: PkiFailure): Buffer {
  return sequence(
    smallInteger(status),
    ...(statusString ? [sequence(tlv(UTF8_STRING, Buffer.from(statusString, 'utf8')))] : []),
    ...(failure ? [failureBitString(pkiFailureInfo[failure])] : []),
  );
}

/**
 * X.690 §11.2.2: a named-bit BIT STRING drops its trailing zero bits, so one bit n is encoded in
 * ⌊n/8⌋+1 octets with 7 − n mod 8 unused bits (badAlg → 03 02 07 80).
 */
function failureBitString(bit: number): Buffer {
  const octets = Buffer.alloc(Math.floor(bit / 8) + 1);
  octets[octets.length - 1] = 0x80 >> bit % 8;
  return tlv(BIT_STRING, Buffer.from([7 - (bit % 8)]), octets);
}

export interface DecodedPkiStatusInfo {
  status: number;
  statusString?: string;
  failures: PkiFailure[];
}

export function decodePkiStatusInfo(der: Buffer, element: Tlv): DecodedPkiStatusInfo {
  expectTag(element, tags.sequence, 'PKIStatusInfo');
  const [statusField, ...rest] = childrenOf(der, element, 'PKIStatusInfo');
  const status = Number(decodeInteger(der, expectTag(statusField, tags.integer, 'PKIStatusInfo.status')));
  const decoded: DecodedPkiStatusInfo = { status, failures: [] };
  for (const field of rest) {
    if (field.tag === tags.sequence) {
      decoded.statusString = childrenOf(der, field, 'PKIFreeText')
        .map((text) => contentOf(der, text).toString('utf8'))
        .join('; ');
    } else if (field.tag === BIT_STRING) {
      const bits = contentOf(der, field);
      for (const [name, bit] of Object.entries(pkiFailureInfo) as Array<[PkiFailure, number]>) {
        const octet = 1 + Math.floor(bit / 8);
        if (octet < bits.length && bits[octet] & (0x80 >> bit % 8)) decoded.failures.push(name);
      }
    } else {
      throw new DerShapeError(`PKIStatusInfo: unexpected field with tag 0x${field.tag.toString(16)}`);
    }
  }
  return decoded;
}
