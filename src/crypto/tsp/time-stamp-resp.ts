import { sequence, tags } from '../cms/der.js';
import { DerShapeError, childrenOf, encodingOf, readWhole } from '../cms/der-reader.js';
import { decodePkiStatusInfo, pkiStatus, pkiStatusInfo, type DecodedPkiStatusInfo, type PkiFailure } from './pki-status-info.js';

/*
 * TimeStampResp ::= SEQUENCE  {                       -- RFC 3161 §2.4.2
 *      status                  PKIStatusInfo,
 *      timeStampToken          TimeStampToken     OPTIONAL  }
 *
 * TimeStampToken ::= ContentInfo
 *      -- contentType is id-signedData ([CMS])
 *      -- content is SignedData ([CMS])
 */

/** status = granted, no statusString or failInfo: the same 5 octets in front of every token. */
const GRANTED_STATUS = pkiStatusInfo(pkiStatus.granted);

export function grantedTimeStampResp(timeStampToken: Buffer): Buffer {
  return sequence(GRANTED_STATUS, timeStampToken);
}

/** A rejection carries no token; RFC 3161 §2.4.2 says the failInfo tells the requester why. */
export function rejectedTimeStampResp(failure: PkiFailure, statusString: string): Buffer {
  return sequence(pkiStatusInfo(pkiStatus.rejection, statusString, failure));
}

export interface DecodedTimeStampResp {
  status: DecodedPkiStatusInfo;
  /** The TimeStampToken exactly as received, when present. */
  timeStampToken?: Buffer;
}

/** RFC 3161 §3.4 sends the response DER-encoded; throws DerShapeError when it is not a TimeStampResp. */
export function decodeTimeStampResp(der: Buffer): DecodedTimeStampResp {
  const response = readWhole(der, tags.sequence, 'TimeStampResp');
  const [status, token, extra] = childrenOf(der, response, 'TimeStampResp');
  if (!status || extra) throw new DerShapeError('TimeStampResp: expected a status and at most one token');
  if (token && token.tag !== tags.sequence) throw new DerShapeError('TimeStampResp: the token is not a ContentInfo');
  return {
    status: decodePkiStatusInfo(der, status),
    timeStampToken: token ? Buffer.from(encodingOf(der, token)) : undefined,
  };
}
