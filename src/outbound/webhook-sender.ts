import { request, type Agent } from 'undici';
import { isSignetError } from '../errors/signet-error.js';
import type { OutboundAddressPolicy } from './address-policy.js';
import { webhookSignatureHeader } from './webhook-signature.js';
import { policyAgent } from './policy-agent.js';

export interface WebhookMessage {
  /** `webhook-id`: the same on every attempt, so receivers can drop duplicates. */
  id: string;
  url: string;
  body: string;
  secrets: readonly string[];
}

export interface WebhookAttemptResult {
  statusCode?: number;
  error?: string;
  durationMs: number;
  /** From a `Retry-After` header, when the receiver asked for a later retry. */
  retryAfterMs?: number;
}

/**
 * Sends one webhook attempt. Never throws: the outcome (status code, or a short error such as
 * "timeout" or "connection refused") is what the delivery log records. Redirects are not followed
 * (undici's `request` does not), every connection goes through the address policy, and connect and
 * total time are capped.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(
    private readonly policy: OutboundAddressPolicy,
    private readonly timeoutMs: number,
  ) {
    this.agent = policyAgent(policy, { timeoutMs, connectTimeoutMs: Math.min(timeoutMs, 10_000), keepAliveTimeoutMs: 10_000, connections: 256 });
  }

  async send(message: WebhookMessage, now = Date.now()): Promise<WebhookAttemptResult> {
    const started = performance.now();
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Signet-Webhooks/1',
      'webhook-id': message.id,
      'webhook-timestamp': String(timestamp),
    };
    if (message.secrets.length > 0) headers['webhook-signature'] = webhookSignatureHeader(message.secrets, message.id, timestamp, message.body);
    try {
      this.policy.checkUrl(message.url);
      const response = await request(message.url, {
        method: 'POST',
        headers,
        body: message.body,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The receiver's answer body does not matter; read a little and drop the rest.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
      return {
        statusCode: response.statusCode,
        durationMs: Math.round(performance.now() - started),
        retryAfterMs: parseRetryAfter(response.headers['retry-after'], now),
      };
    } catch (error) {
      return { error: describe(error), durationMs: Math.round(performance.now() - started) };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function describe(error: unknown): string {
  if (isSignetError(error)) return error.message;
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (isSignetError(e.cause)) return e.cause.message;
  const code = e.code ?? e.cause?.code;
  if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return (e.message ?? String(error)).slice(0, 200);
}

/** RFC 9110 §10.2.3: seconds or an HTTP date. */
function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
