import type { RateBudget } from '../../pipelines/rate.ts';

// WorkOS limits /user_management/* per environment: 500 writes and 1,000 reads per 10 s, counted apart
// (workos-api.md §8). The window algorithm is unconfirmed; the emulator uses an exact sliding log, the
// strictest reading: a request is admitted when fewer than `limit` requests were admitted in the last
// `windowMs`. Rejected requests are not logged, so hammering a full window does not prolong it.

export const DEFAULT_WRITES: RateBudget = { limit: 500, windowMs: 10_000 };
export const DEFAULT_READS: RateBudget = { limit: 1000, windowMs: 10_000 };

/** Admission times of the last `limit` admitted requests, oldest at `head` once the ring is full. */
class SlidingLog {
  private readonly admitted: number[] = [];
  private head = 0;

  constructor(private readonly budget: RateBudget) {}

  /** Admits and logs the request (returns 0) or returns the ms until the window has room. */
  tryAdmit(now: number): number {
    if (this.admitted.length < this.budget.limit) {
      this.admitted.push(now);
      return 0;
    }
    const wait = (this.admitted[this.head] as number) + this.budget.windowMs - now;
    if (wait > 0) return wait;
    this.admitted[this.head] = now;
    this.head = (this.head + 1) % this.budget.limit;
    return 0;
  }
}

export type RequestClass = 'write' | 'read';

interface KeyWindows {
  write: SlidingLog | null;
  read: SlidingLog | null;
}

export class RateLimiter {
  private readonly windowsByKey = new Map<string, KeyWindows>();

  constructor(
    private readonly writes: RateBudget | null,
    private readonly reads: RateBudget | null,
  ) {}

  /** 0 when admitted, else whole seconds (at least 1) until the key's window of that class has room. */
  retryAfterSeconds(apiKey: string, requestClass: RequestClass, now: number): number {
    let windows = this.windowsByKey.get(apiKey);
    if (!windows) {
      windows = { write: this.writes && new SlidingLog(this.writes), read: this.reads && new SlidingLog(this.reads) };
      this.windowsByKey.set(apiKey, windows);
    }
    const waitMs = windows[requestClass]?.tryAdmit(now) ?? 0;
    return waitMs === 0 ? 0 : Math.max(1, Math.ceil(waitMs / 1000));
  }
}
