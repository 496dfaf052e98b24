import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import { answerRequests } from '../../util/answer-requests.js';

/**
 * Worker-thread entry of signing-threads.ts: holds the RSA keys broadcast to it and answers
 * "PKCS#1 v1.5 signature of this DigestInfo with key n".
 */

export interface KeyBroadcast {
  keyId: number;
  key: KeyObject;
}

export interface SignRequest {
  keyId: number;
  digestInfo: Uint8Array;
}

const keys = new Map<number, KeyObject>();

answerRequests<SignRequest, Uint8Array>(
  (request) => {
    const key = keys.get(request.keyId);
    if (!key) throw new Error(`signing thread has no key ${request.keyId}`);
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, request.digestInfo);
  },
  {
    onBroadcast: (message) => {
      const { keyId, key } = message as KeyBroadcast;
      keys.set(keyId, key);
    },
  },
);
