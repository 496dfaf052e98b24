import { request, type Agent } from 'undici';
import { SignetError } from '../errors/signet-error.js';
import { CscHttpError, type CscTransport } from '../crypto/keys/csc-signer.js';
import type { OutboundAddressPolicy } from './address-policy.js';
import { policyAgent } from './policy-agent.js';

/**
 * HTTP for a remote signing service speaking the CSC API v2 (API.md §9 `"type": "csc"`): JSON (or, for
 * the OAuth token, a form) POSTed through the outbound address policy, with a timeout and a size cap.
 * A service that cannot be reached, answers 5xx or 429 is `signing_service_unavailable` and transient
 * — documents wait and retry, as for a TSA outage; a 4xx is `signing_service_failed` with the CSC
 * error and its description.
 */
export class CscHttpTransport implements CscTransport {
  readonly #agent: Agent;

  constructor(
    private readonly policy: OutboundAddressPolicy,
    private readonly limits: { timeoutMs: number; maxBytes: number } = { timeoutMs: 15_000, maxBytes: 4 * 1024 * 1024 },
  ) {
    this.#agent = policyAgent(policy, { timeoutMs: limits.timeoutMs, keepAliveTimeoutMs: 30_000 });
  }

  async post(url: string, body: { json: object } | { form: Record<string, string> }, bearer?: string): Promise<Record<string, unknown>> {
    this.policy.checkUrl(url);
    const payload = 'json' in body ? JSON.stringify(body.json) : new URLSearchParams(body.form).toString();
    let response;
    try {
      response = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'json' in body ? 'application/json' : 'application/x-www-form-urlencoded',
          accept: 'application/json',
          ...(bearer && { authorization: `Bearer ${bearer}` }),
        },
        body: payload,
        dispatcher: this.#agent,
        signal: AbortSignal.timeout(this.limits.timeoutMs),
      });
    } catch (error) {
      if ((error as SignetError).code === 'url_not_allowed') throw error;
      throw new SignetError('signing_service_unavailable', `The remote signing service cannot be reached (${operationOf(url)}): ${(error as Error).message}`, { transient: true, cause: error });
    }
    let text = '';
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString('utf8');
      if (text.length > this.limits.maxBytes) {
        response.body.destroy();
        throw new SignetError('signing_service_failed', `The remote signing service answered more than ${this.limits.maxBytes} bytes to ${operationOf(url)}`);
      }
    }
    let answer: Record<string, unknown> = {};
    try {
      answer = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      if (response.statusCode === 200) throw new SignetError('signing_service_failed', `The remote signing service answered ${operationOf(url)} with something that is not JSON`);
    }
    if (response.statusCode === 200) return answer;
    const transient = response.statusCode >= 500 || response.statusCode === 429 || response.statusCode === 408;
    // The CSC error code (a registered value such as invalid_pin) is said; the service's own description and address are not (they reach API clients).
    const code = typeof answer.error === 'string' ? ` (${answer.error.slice(0, 100)})` : '';
    throw new CscHttpError(response.statusCode, `The remote signing service answered HTTP ${response.statusCode} to ${operationOf(url)}${code}`, transient);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** `signatures/signHash` of `https://rssp.example/csc/v2/signatures/signHash`: what was asked, not where. */
function operationOf(url: string): string {
  return new URL(url).pathname.split('/').slice(-2).join('/');
}
