import type { RetryPolicy } from './types';

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, initialBackoffMs: 100, maxBackoffMs: 2000 };

/** Delay before attempt `n` (n >= 2): exponential with full jitter, capped. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 2));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
