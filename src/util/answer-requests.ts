import { parentPort } from 'node:worker_threads';
import type { ThreadAnswer } from './request-threads.js';

/**
 * The worker side of RequestThreads: answers each `{ id, request }` with `handle(request)` (or its
 * error's message and code), and passes broadcasts to `onBroadcast`.
 */
export function answerRequests<Request, Answer>(
  handle: (request: Request) => Answer,
  options: { onBroadcast?: (message: unknown) => void } = {},
): void {
  if (!parentPort) throw new Error('this module must run as a worker thread');
  const port = parentPort;
  port.on('message', (message: { id: number; request: Request } | { broadcast: unknown }) => {
    if ('broadcast' in message) {
      options.onBroadcast?.(message.broadcast);
      return;
    }
    let answer: ThreadAnswer<Answer>;
    try {
      const value = handle(message.request);
      answer = { id: message.id, ok: true, value };
    } catch (error) {
      const failure = error as { message?: string; code?: string };
      answer = { id: message.id, ok: false, message: failure?.message ?? String(error), ...(typeof failure?.code === 'string' && { code: failure.code }) };
    }
    port.postMessage(answer);
  });
}
