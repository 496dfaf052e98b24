import { parentPort } from 'node:worker_threads';
import { isSignetError } from '../../errors/signet-error.js';
import { prepareXadesSignature, type XadesPrepareRequest } from './xades-prepare.js';

/**
 * Worker-thread entry of xades-pool.ts: reads, canonicalizes and digests one document per message.
 * A SignetError crosses back as {code, message}; anything else as an internal error with its message.
 */

export interface WorkerRequest {
  id: number;
  request: XadesPrepareRequest;
}

export type WorkerResponse =
  | { id: number; ok: true; prepared: ReturnType<typeof prepareXadesSignature> }
  | { id: number; ok: false; error: { code: string | null; message: string } };

if (!parentPort) throw new Error('xades-worker must run as a worker thread');
const port = parentPort;

port.on('message', (message: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    response = { id: message.id, ok: true, prepared: prepareXadesSignature(message.request) };
  } catch (error) {
    response = {
      id: message.id,
      ok: false,
      error: { code: isSignetError(error) ? error.code : null, message: (error as Error)?.message ?? String(error) },
    };
  }
  port.postMessage(response);
});
