import type { AttemptOutcome } from '../../store/delivery-repository.js';

/** Longest wait a receiver's Retry-After may impose: beyond it we keep to our own schedule's end. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Decides what follows an attempt. `schedule[n]` is the delay before attempt n (the first is
 * normally 0 s); the schedule's length is the number of attempts. A 2xx is success, 410 Gone stops;
 * anything else retries, no sooner than the receiver's Retry-After, with ±10 % jitter so that many
 * callbacks failing together do not return together.
 */
export function decideAfterAttempt(
  schedule: readonly number[],
  attemptsDone: number,
  result: { statusCode?: number; retryAfterMs?: number; giveUp?: boolean },
  now: number,
  random: () => number = Math.random,
): AttemptOutcome {
  if (result.giveUp) return { kind: 'failed' };
  const code = result.statusCode;
  if (code !== undefined && code >= 200 && code < 300) return { kind: 'delivered' };
  if (code === 410) return { kind: 'failed' };
  if (attemptsDone >= schedule.length) return { kind: 'failed' };
  const planned = schedule[attemptsDone];
  const jittered = planned * (0.9 + 0.2 * random());
  const delay = Math.max(jittered, Math.min(result.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
  return { kind: 'retry', at: now + Math.round(delay) };
}
