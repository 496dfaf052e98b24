import { Agent } from 'undici';
import type { OutboundAddressPolicy } from './address-policy.js';

/**
 * The HTTP agent of every outbound request: its DNS answers go through the address policy (so a name
 * that resolves to a refused address is refused at connect time, not only when checked), and connect,
 * headers and body each have a deadline.
 */
export function policyAgent(
  policy: OutboundAddressPolicy,
  options: { timeoutMs: number; connectTimeoutMs?: number; keepAliveTimeoutMs?: number; connections?: number },
): Agent {
  return new Agent({
    connect: { lookup: policy.lookup, timeout: options.connectTimeoutMs ?? options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    ...(options.keepAliveTimeoutMs !== undefined && { keepAliveTimeout: options.keepAliveTimeoutMs }),
    ...(options.connections !== undefined && { connections: options.connections }),
  });
}
