// Rate budgets for WorkOS calls (workos-api.md §8: 500 writes and 1,000 reads per 10 s per environment).
//
// A budget is a bottleneck reservoir of `limit` tokens. A call takes a token when it starts and gives it
// back one window (plus a margin) after its answer arrived. A call reaches the server between its start and
// its answer, so two calls that share a token reach it more than a window apart, and any window of that
// length, wherever it starts, holds at most `limit` calls. A fixed-window refill could put twice the budget
// into a window that straddles two refills; this cannot.
import { setTimeout as sleep } from 'node:timers/promises';
import Bottleneck from 'bottleneck';
import type { RateBudget } from '../../pipelines/rate.ts';

/** Keeps clocks that tick apart (ours, the server's) from letting a call in a hair early. */
const SAFETY_MARGIN_MS = 5;

/** The run was interrupted (SIGINT/SIGTERM) while a call waited for its turn. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted before the call was sent');
    this.name = 'Interrupted';
  }
}

/** After a 429, every call waits until the server's Retry-After (or our backoff) has passed. */
export class PauseGate {
  private until = 0;

  constructor(private readonly signal: AbortSignal) {}

  /** Extends the pause to at least `ms` from now. */
  pauseFor(ms: number): void {
    this.until = Math.max(this.until, performance.now() + ms);
  }

  get paused(): boolean {
    return performance.now() < this.until;
  }

  async passed(): Promise<void> {
    for (let wait = this.until - performance.now(); wait > 0; wait = this.until - performance.now()) {
      try {
        await sleep(wait, undefined, { signal: this.signal });
      } catch {
        throw new Interrupted();
      }
    }
  }
}

/** Every call of one budget (writes, or reads) goes through one of these; with no budget it only honours pauses. */
export class RequestLimiter {
  private readonly bottleneck: Bottleneck | null;
  private readonly floor: number;
  private limit: number;
  /** Tokens to keep when they come back, after the budget was lowered. */
  private debt = 0;
  /** When each call still holding a token was answered, oldest first, from `head`. */
  private answeredAt: number[] = [];
  private head = 0;
  private refillTimer: NodeJS.Timeout | null = null;
  /** Once stopped, calls still answering give no tokens back: nothing may wait for them. */
  private stopped = false;

  /**
   * `spentBefore`: when calls of an earlier process were answered (ms since the epoch), oldest first. Their tokens
   * are taken from the start and come back a window after those answers, as if this limiter had made the calls.
   * `onAnswered` hears of each of this limiter's answered calls, to keep them for a later process.
   */
  constructor(
    private readonly budget: RateBudget | null,
    private readonly pause: PauseGate,
    spentBefore: readonly number[] = [],
    private readonly onAnswered: (budget: RateBudget) => void = () => undefined,
  ) {
    this.limit = budget?.limit ?? 0;
    this.floor = Math.max(1, Math.ceil(this.limit / 10));
    const spent = budget === null ? 0 : spentBefore.length;
    this.bottleneck = budget && new Bottleneck({ reservoir: Math.max(0, budget.limit - spent) });
    this.debt = Math.max(0, spent - this.limit);
    if (budget !== null && spent > 0) {
      const [epochNow, now] = [Date.now(), performance.now()];
      this.answeredAt = spentBefore.map((at) => now - (epochNow - at));
      this.scheduleRefill(budget.windowMs);
    }
  }

  schedule<T>(call: () => Promise<T>): Promise<T> {
    if (this.bottleneck === null) return this.run(call);
    return this.bottleneck.schedule(() => this.run(call)).catch((error: unknown) => {
      throw error instanceof Bottleneck.BottleneckError ? new Interrupted() : error;
    });
  }

  /**
   * Lowers the budget by a fifth (not below a tenth of the configured one); the new budget, or null if there is none.
   * The tokens it takes leave the reservoir at once, which may go below zero until calls answered pay it back:
   * otherwise the window after a lowering could still hold the whole old budget.
   */
  slowDown(): RateBudget | null {
    if (this.budget === null || this.bottleneck === null) return null;
    const lowered = Math.max(this.floor, Math.floor(this.limit * 0.8));
    void this.bottleneck.incrementReservoir(lowered - this.limit);
    this.limit = lowered;
    return { limit: lowered, windowMs: this.budget.windowMs };
  }

  /** Raises a lowered budget by a quarter, up to the configured one; the new budget, or null if it was not lowered. */
  speedUp(): RateBudget | null {
    if (this.budget === null || this.limit >= this.budget.limit) return null;
    const raised = Math.min(this.budget.limit, Math.ceil(this.limit * 1.25));
    const extra = raised - this.limit;
    this.limit = raised;
    const forgiven = Math.min(this.debt, extra);
    this.debt -= forgiven;
    if (extra > forgiven) void this.bottleneck?.incrementReservoir(extra - forgiven);
    return { limit: raised, windowMs: this.budget.windowMs };
  }

  /** Drops the calls waiting for a token (they fail with Interrupted); calls already sent finish. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.refillTimer !== null) clearTimeout(this.refillTimer);
    this.refillTimer = null;
    void this.bottleneck?.stop({ dropWaitingJobs: true });
  }

  private async run<T>(call: () => Promise<T>): Promise<T> {
    // Without a budget no Bottleneck drops the calls that come after a stop: each is refused here instead.
    if (this.stopped) throw new Interrupted();
    if (this.pause.paused) await this.pause.passed();
    try {
      return await call();
    } finally {
      if (this.budget !== null) this.answered(this.budget);
    }
  }

  private answered(budget: RateBudget): void {
    // Kept also after a stop: a call answered then still reached the server within the next run's first window.
    this.onAnswered(budget);
    if (this.stopped) return;
    this.answeredAt.push(performance.now());
    this.scheduleRefill(budget.windowMs);
  }

  /** Wakes up when the oldest token still held is due back, unless a wake-up is set already. */
  private scheduleRefill(windowMs: number): void {
    if (this.refillTimer !== null || this.head >= this.answeredAt.length) return;
    const dueIn = (this.answeredAt[this.head] as number) + windowMs + SAFETY_MARGIN_MS - performance.now();
    this.refillTimer = setTimeout(() => this.refill(windowMs), Math.max(1, Math.ceil(dueIn)));
  }

  private refill(windowMs: number): void {
    this.refillTimer = null;
    const due = performance.now() - windowMs - SAFETY_MARGIN_MS;
    let returned = 0;
    while (this.head < this.answeredAt.length && (this.answeredAt[this.head] as number) <= due) {
      this.head++;
      returned++;
    }
    if (this.head >= 1024 || this.head === this.answeredAt.length) {
      this.answeredAt = this.answeredAt.slice(this.head);
      this.head = 0;
    }
    const kept = Math.min(this.debt, returned);
    this.debt -= kept;
    if (returned > kept) void this.bottleneck?.incrementReservoir(returned - kept);
    this.scheduleRefill(windowMs);
  }
}
