import { request, type Agent } from 'undici';
import { SignetError } from '../errors/signet-error.js';
import type { OutboundAddressPolicy } from './address-policy.js';
import { policyAgent } from './policy-agent.js';

/**
 * HTTP for validation data — OCSP responses, CRLs, issuer certificates named in AIA — under the
 * outbound address policy like every other request Signet makes. Bounded: a timeout for the whole
 * exchange and a size cap on the answer (a CRL of a large CA runs to megabytes; nothing legitimate
 * here is larger than `maxBytes`). A CA that cannot be reached, or answers 5xx, is transient
 * (`validation_data_unavailable`): the caller waits and retries; a refused address is not.
 */
export class ValidationDataClient {
  readonly #agent: Agent;

  constructor(
    private readonly policy: OutboundAddressPolicy,
    private readonly limits: { timeoutMs: number; maxBytes: number } = { timeoutMs: 10_000, maxBytes: 20 * 1024 * 1024 },
  ) {
    this.#agent = policyAgent(policy, { timeoutMs: limits.timeoutMs, keepAliveTimeoutMs: 10_000 });
  }

  /** GET (CRLs, certificates, OCSP GET form) or POST (an OCSP request); the answer's bytes. */
  async fetch(url: string, options: { body?: Buffer; contentType?: string } = {}): Promise<Buffer> {
    this.policy.checkUrl(url);
    let response;
    try {
      response = await request(url, {
        method: options.body ? 'POST' : 'GET',
        headers: { 'user-agent': 'Signet-Validation/1', ...(options.contentType && { 'content-type': options.contentType }) },
        ...(options.body && { body: options.body }),
        dispatcher: this.#agent,
        signal: AbortSignal.timeout(this.limits.timeoutMs),
      });
    } catch (error) {
      if ((error as SignetError).code === 'url_not_allowed') throw error;
      throw new SignetError('validation_data_unavailable', `${url} cannot be reached: ${(error as Error).message}`, { transient: true, cause: error });
    }
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => {});
      throw new SignetError('validation_data_unavailable', `${url} answered HTTP ${response.statusCode}`, { transient: response.statusCode >= 500 || response.statusCode === 429 });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > this.limits.maxBytes) {
        response.body.destroy();
        throw new SignetError('validation_data_unavailable', `${url} answered more than ${this.limits.maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, size);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
