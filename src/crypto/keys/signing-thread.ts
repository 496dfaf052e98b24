import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * Worker-thread entry of signing-threads.ts: holds the RSA keys it was given and answers
 * "PKCS#1 v1.5 signature of this DigestInfo with key n".
 */

export type SigningThreadMessage =
  | { type: 'key'; keyId: number; key: KeyObject }
  | { type: 'sign'; id: number; keyId: number; digestInfo: Uint8Array };

export type SigningThreadAnswer = { id: number; ok: true; signature: Uint8Array } | { id: number; ok: false; message: string };

if (!parentPort) throw new Error('signing-thread must run as a worker thread');
const port = parentPort;
const keys = new Map<number, KeyObject>();

port.on('message', (message: SigningThreadMessage) => {
  if (message.type === 'key') {
    keys.set(message.keyId, message.key);
    return;
  }
  let answer: SigningThreadAnswer;
  try {
    const key = keys.get(message.keyId);
    if (!key) throw new Error(`signing thread has no key ${message.keyId}`);
    const signature = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, message.digestInfo);
    answer = { id: message.id, ok: true, signature };
  } catch (error) {
    answer = { id: message.id, ok: false, message: (error as Error)?.message ?? String(error) };
  }
  port.postMessage(answer);
});
