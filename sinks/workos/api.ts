// Every WorkOS call of a run goes through here: through the budget of its kind, paused on 429, retried with
// backoff when it is safe to retry. The SDK retries nothing under /user_management or /organizations
// (workos-api.md §2), so this is the only retry layer.
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkOS } from '@workos-inc/node';
import { AuthpipeError } from '../../pipelines/errors.ts';
import type { Logger } from '../../pipelines/log.ts';
import type { CallKind } from '../../state/ledger.ts';
import { CallFailed, classify, isForbidden, isRateLimited, isUnauthorized, retryAfterMs, type Failure } from './classify.ts';
import { formatDuration, formatRate, type RateBudget } from '../../pipelines/rate.ts';
import { Interrupted, PauseGate, RequestLimiter } from './limiter.ts';

export interface ApiSettings {
  sdk: WorkOS;
  writes: RateBudget | null;
  reads: RateBudget | null;
  /** Retries of a call that failed with a timeout, a 5xx or a network error. */
  retries: number;
  /** How long the server may fail every call (or answer only 429) before the run stops. */
  maxOutageMs: number;
  /**
   * An earlier run wrote to this server: a network error from the start is an outage, not a wrong base URL (which
   * stops the run at once).
   */
  answeredBefore?: boolean;
  log: Logger;
  signal: AbortSignal;
  /** Calls an earlier process made within the current window of each budget (their answers, ms since the epoch). */
  spentBefore?: Record<CallKind, readonly number[]>;
  /** Hears of every answered call under a budget, to keep it for a later process. */
  onAnswered?: (kind: CallKind, budget: RateBudget) => void;
  /** Hears of every call as it is sent: a later process counts the calls of one killed meanwhile. */
  onSent?: () => void;
}

const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 30_000;
const RATE_LIMIT_BASE_MS = 1000;
const RATE_LIMIT_CAP_MS = 60_000;
/** Two pauses that start within this long of each other (or one window of the budget) count as repeated 429s. */
const REPEAT_WINDOW_MS = 10_000;

/** Windows of a budget without a 429 after which a lowered budget is raised a step. */
const RECOVERY_WINDOWS = 3;
const OUTAGE_PAUSE_BASE_MS = 5_000;
const LOOK_AGAIN_BASE_MS = 1000;
const OUTAGE_PAUSE_CAP_MS = 60_000;
/**
 * Writes in a row that spent their retries while WorkOS answered reads, after which every call pauses: a server bug
 * on a few records fails those rows, a server that takes no write must not fail the whole input at full speed.
 */
const WRITES_DOWN_AFTER = 10;

/** Exponential, with jitter so that calls failed together do not come back together. */
function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** The run stops: the base URL names no server, or one that never answers. */
function unreachable(failure: Failure): AuthpipeError {
  // A server that answers more slowly than the timeout looks the same as one that never answers.
  const slow = failure.code === 'timeout' ? ', or raise the timeout option if the server is slow to answer' : '';
  return new AuthpipeError('workos.unreachable', `cannot reach the WorkOS API (${failure.message}): check the base URL (WORKOS_API_URL or baseUrl) and the network${slow}`);
}

/** The run stops: `detail` says what the server answered that the WorkOS API never does. */
export function notWorkos(detail: string): AuthpipeError {
  return new AuthpipeError('workos.not_workos', `the server at the base URL does not answer as the WorkOS API does (${detail}): check WORKOS_API_URL or baseUrl`);
}

/** Whole seconds and up, as durations are said elsewhere; under ten seconds with a tenth, so a short pause is not "0 s". */
const formatMs = (ms: number) => (ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)} s` : formatDuration(Math.round(ms / 1000)));

export class WorkosApi {
  readonly sdk: WorkOS;
  readonly retries: number;
  private readonly pause: PauseGate;
  private readonly limiters: Record<CallKind, RequestLimiter>;
  private readonly windows: Record<CallKind, number>;
  private rateLimitedInARow = 0;
  /** Whether the server ever answered as WorkOS does; until then, timeouts and answers that are not WorkOS's are counted. */
  private reached: boolean;
  private unansweredCalls = 0;
  private lastPauseAt = -Infinity;
  /**
   * Since when no call has been answered with a result or a final error, only with 5xx, timeouts, network errors or
   * 429s; null while calls are answered.
   */
  private troubleSince: number | null = null;
  /** Pauses of the current outage: of every call, or of writes only (reads answered). */
  private readonly outagePauses = { calls: 0, writes: 0 };
  /** Writes in a row that spent their retries while reads were answered; reset by an answered write and by a pause. */
  private writesFailedInARow = 0;
  /** Since when writes have spent their retries while reads were answered, with no write taken; null while taken. */
  private writesDownSince: number | null = null;
  /** When WorkOS last answered again (or took writes again) after an outage pause. */
  private outageEndedAt = -Infinity;
  /** The one read in flight that asks whether the server answers at all. */
  private probing: Promise<boolean> | null = null;
  private readonly lastRecoveryAt: Record<CallKind, number> = { write: -Infinity, read: -Infinity };
  private readonly lastLoweredAt: Record<CallKind, number> = { write: -Infinity, read: -Infinity };
  private readonly stopOnAbort = () => this.close();

  constructor(private readonly settings: ApiSettings) {
    this.sdk = settings.sdk;
    this.retries = settings.retries;
    this.reached = settings.answeredBefore ?? false;
    this.pause = new PauseGate(settings.signal);
    const limiter = (kind: CallKind, budget: RateBudget | null) =>
      new RequestLimiter(budget, this.pause, settings.spentBefore?.[kind], (answered) => settings.onAnswered?.(kind, answered));
    this.limiters = { write: limiter('write', settings.writes), read: limiter('read', settings.reads) };
    this.windows = { write: settings.writes?.windowMs ?? REPEAT_WINDOW_MS, read: settings.reads?.windowMs ?? REPEAT_WINDOW_MS };
    settings.signal.addEventListener('abort', this.stopOnAbort, { once: true });
  }

  /** Sends one request. A 429 never takes effect, so it pauses every call and sends the request again. */
  async send<T>(kind: CallKind, request: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const result = await this.limiters[kind].schedule(() => {
          this.settings.onSent?.();
          return request();
        });
        this.reached = true;
        this.answered();
        if (kind === 'write') this.writeAnswered();
        this.rateLimitedInARow = 0;
        this.recover(kind);
        return result;
      } catch (error) {
        if (isUnauthorized(error)) {
          throw new AuthpipeError('workos.unauthorized', 'WorkOS rejected the API key (401 Unauthorized): check WORKOS_API_KEY (or the apiKey option) and the base URL');
        }
        if (isForbidden(error)) {
          throw new AuthpipeError(
            'workos.forbidden',
            "WorkOS refused the call (403 Forbidden): the API key may lack a permission, or the environment's IP allow-list leave this machine out; the rows are left for the next run",
          );
        }
        if (!isRateLimited(error)) throw error;
        this.troubleSince ??= performance.now();
        this.stopIfSilentTooLong('workos.rate_limited', 'answered nothing but 429 (rate limited)');
        this.rateLimited(kind, retryAfterMs(error));
      }
    }
  }

  /** A call that may be sent twice without harm: timeouts, 5xx and network errors are retried after a backoff. */
  async idempotent<T>(kind: CallKind, request: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.send(kind, request);
      } catch (error) {
        const failure = this.failureOf(error);
        if (!(await this.retryAfter(failure, retry, kind))) throw new CallFailed(failure);
      }
    }
  }

  /**
   * The classified failure of an SDK call; interruptions, fatal errors and our bugs are thrown on. A server that
   * never answered, or never as WorkOS does (a web page, a 2xx without its body), in more tries than a call gets
   * stops the run: a wrong host or port, or another program on it, would otherwise fail every row in turn.
   */
  failureOf(error: unknown): Failure {
    if (error instanceof Interrupted || error instanceof AuthpipeError || error instanceof CallFailed) throw error;
    const failure = classify(error);
    if (failure.errorClass === 'permanent') this.answered();
    else this.troubleSince ??= performance.now();
    if (this.reached || failure.code === 'network_error') return failure;
    // Timeouts are counted across calls: at a minute each, one call's retries would take minutes to say so. Timed out,
    // the calls are only suspected (retryAfter asks the server first: a first batch of slow creates times out together).
    if (failure.code === 'timeout' || failure.foreign) {
      if (++this.unansweredCalls > this.retries && failure.foreign) throw notWorkos(failure.message);
    } else this.reached = true;
    return failure;
  }

  /**
   * Whether a call of `kind` that failed with `failure` after `retry` retries is sent again; waits first. Its own
   * retries come first, with backoff; a server that never answered one of them (and no call before) is not there, or
   * not at this address: the run stops. Once they are spent, the row fails if the server answers a plain read: the
   * trouble is this request's own; every WRITES_DOWN_AFTER writes in a row that fail so, every call pauses first
   * (longer each time, up to a minute), so writes that are down fail ten rows a pause rather than the whole input. If
   * the server answers no read, it is down for every call: every call pauses, longer each time, until the server
   * answers again or has failed them for `maxOutageMs`. A call that failed before an outage ended (its answer lost to
   * it, or sent just before WorkOS came back) is sent again: the failure was the outage's, not its own.
   */
  async retryAfter(failure: Failure, retry: number, kind: CallKind): Promise<boolean> {
    if (failure.errorClass !== 'retryable') {
      if (kind === 'write') this.writeAnswered();
      return false;
    }
    // Connections that fail are counted per call: the calls in flight together at the start all fail together when a
    // server restarts, and come back with it a retry later.
    if (!this.reached && failure.code === 'network_error' && retry >= this.retries) throw unreachable(failure);
    if (!this.reached && failure.code === 'timeout' && this.unansweredCalls > this.retries && !(await this.serverAnswers())) throw unreachable(failure);
    if (retry < this.retries) {
      await this.delay(backoffMs(retry, RETRY_BASE_MS, RETRY_CAP_MS));
      return true;
    }
    const failedAt = performance.now();
    if (await this.serverAnswers()) {
      if (kind === 'read' || !this.writesDown()) return failedAt <= this.outageEndedAt;
      // Failed all the same: WorkOS cannot tell a block of records it cannot take from writes that are down, and a
      // run that waited on those rows would never reach the ones after them. Every call pauses before the next ones,
      // until writes have been down for maxOutage: a server that never takes one must not hold the run for ever.
      const downMs = failedAt - (this.writesDownSince ?? failedAt);
      if (downMs >= this.settings.maxOutageMs) {
        throw new AuthpipeError(
          'workos.writes_down',
          `WorkOS has answered reads but taken no write for ${formatMs(downMs)} (last: ${failure.code}: ${failure.message}); the run stops here: the rows failed are failed/retryable, for the next run or a replay, and the next run takes up the rows not written`,
        );
      }
      this.pauseEveryCall(
        'writes',
        this.settings.maxOutageMs - downMs,
        (wait) =>
          `workos: WorkOS answers reads but failed the last ${WRITES_DOWN_AFTER} writes (${failure.code}); pausing every call for ${wait}, then the rows go on (those failed are failed/retryable, for the next run or a replay), and the run stops after ${formatMs(this.settings.maxOutageMs)} without a write taken`,
      );
      return false;
    }
    this.stopIfSilentTooLong('workos.outage', `failed every call (last: ${failure.code}: ${failure.message})`);
    this.pauseEveryCall(
      'calls',
      this.settings.maxOutageMs - this.silentMs(),
      (wait) => `workos: WorkOS fails every call (${failure.code}); pausing every call for ${wait}, and the run stops after ${formatMs(this.settings.maxOutageMs)} without an answer`,
    );
    await this.pause.passed();
    return true;
  }

  /**
   * Pauses every call, for longer at each pause of this outage (up to a minute, and `limitMs`), and says so with `say`;
   * a call failed while a pause holds only waits for it.
   */
  private pauseEveryCall(outage: keyof typeof this.outagePauses, limitMs: number, say: (wait: string) => string): void {
    if (this.pause.paused) return;
    const waitMs = Math.min(OUTAGE_PAUSE_CAP_MS, OUTAGE_PAUSE_BASE_MS * 2 ** this.outagePauses[outage]++, limitMs);
    this.pause.pauseFor(waitMs);
    this.settings.log.warn(say(formatMs(waitMs)));
  }

  /** Counts a write that spent its retries while reads were answered; whether it makes WRITES_DOWN_AFTER in a row. */
  private writesDown(): boolean {
    this.writesDownSince ??= performance.now();
    if (++this.writesFailedInARow < WRITES_DOWN_AFTER) return false;
    this.writesFailedInARow = 0;
    return true;
  }

  private writeAnswered(): void {
    this.writesFailedInARow = 0;
    this.writesDownSince = null;
    if (this.outagePauses.writes === 0) return;
    this.outagePauses.writes = 0;
    this.outageEndedAt = performance.now();
    this.settings.log.info('workos: WorkOS takes writes again; the run goes on');
  }

  /**
   * `find`'s answer once it has one, looked for `lookups` times: at once, then after a second, each twice as late; null
   * when none came. For what WorkOS may list late: a thing it said exists, or a write whose answer was lost.
   */
  async lookedForAgain<T>(lookups: number, find: () => Promise<T | null>): Promise<T | null> {
    for (let lookup = 0; ; lookup++) {
      const found = await find();
      if (found !== null || lookup + 1 >= lookups) return found;
      await this.delay(LOOK_AGAIN_BASE_MS * 2 ** lookup);
    }
  }

  /** Waits `ms`, or throws Interrupted at a stop. */
  private async delay(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.settings.signal });
    } catch {
      throw new Interrupted();
    }
  }

  /** Asks the server for one user, once for all the calls that want to know at the same time. */
  private serverAnswers(): Promise<boolean> {
    this.probing ??= this.probe().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async probe(): Promise<boolean> {
    try {
      await this.send('read', () => this.sdk.userManagement.listUsers({ limit: 1 }));
      return true;
    } catch (error) {
      return this.failureOf(error).errorClass !== 'retryable';
    }
  }

  private silentMs(): number {
    return this.troubleSince === null ? 0 : performance.now() - this.troubleSince;
  }

  private answered(): void {
    this.troubleSince = null;
    if (this.outagePauses.calls === 0) return;
    this.outagePauses.calls = 0;
    this.outageEndedAt = performance.now();
    this.settings.log.info('workos: WorkOS answers again; the run goes on');
  }

  /**
   * Stops the run once the server has given no answer for `maxOutageMs`: rows in flight stay so in the ledger and are
   * looked up by the next run, rows not read yet are read by it.
   */
  private stopIfSilentTooLong(code: string, what: string): void {
    const silentMs = this.silentMs();
    if (silentMs < this.settings.maxOutageMs) return;
    throw new AuthpipeError(code, `WorkOS has ${what} for ${formatMs(silentMs)}; the run stops here, and the next run takes up the rows not written`);
  }

  /** Stops the budgets: calls waiting for their turn fail with Interrupted, their timers end. */
  close(): void {
    this.settings.signal.removeEventListener('abort', this.stopOnAbort);
    this.limiters.write.stop();
    this.limiters.read.stop();
  }

  /**
   * A budget lowered by 429s is raised again, a quarter at a time, after RECOVERY_WINDOWS windows without one: a
   * burst of 429s early in a six-hour import must not slow every hour after it.
   */
  private recover(kind: CallKind): void {
    const now = performance.now();
    const quietSince = Math.max(this.lastPauseAt, this.lastRecoveryAt[kind]);
    if (now - quietSince < this.windows[kind] * RECOVERY_WINDOWS) return;
    this.lastRecoveryAt[kind] = now;
    const raised = this.limiters[kind].speedUp();
    if (raised !== null) this.settings.log.info(`workos: no 429s for a while; ${kind} budget raised to ${formatRate(raised)}`);
  }

  private rateLimited(kind: CallKind, hintMs: number | null): void {
    // Calls in flight together are answered 429 together: that is one event. An answer that comes during the pause
    // it started only lengthens it to its own Retry-After; it neither grows the backoff nor starts another pause.
    if (this.pause.paused) {
      if (hintMs !== null) this.pause.pauseFor(Math.min(hintMs, RATE_LIMIT_CAP_MS));
      return;
    }
    this.rateLimitedInARow++;
    // Capped (workos-api.md §8): one of a day must not stall the run unsaid. A Retry-After under a second (0, a date
    // already past) must not send every call straight back: our own backoff, growing per event, is taken instead.
    const backoff = backoffMs(this.rateLimitedInARow - 1, RATE_LIMIT_BASE_MS, RATE_LIMIT_CAP_MS);
    // A Retry-After of a second or more is the server's word, kept as it is: backing off past it would idle the run
    // through a storm the server said would pass (429s that keep coming lower the budget instead, below).
    const honoured = hintMs !== null && hintMs >= RATE_LIMIT_BASE_MS;
    const waitMs = Math.min(RATE_LIMIT_CAP_MS, honoured ? hintMs : Math.max(hintMs ?? 0, backoff));
    this.pause.pauseFor(waitMs);
    const now = performance.now();
    const repeated = now - this.lastPauseAt < this.windows[kind] + waitMs;
    this.lastPauseAt = now;
    const { log } = this.settings;
    const reason =
      hintMs === null ? 'no Retry-After, backing off' : hintMs > RATE_LIMIT_CAP_MS ? `Retry-After ${Math.round(hintMs / 1000)} s, capped` : honoured ? 'Retry-After' : 'Retry-After too short, backing off';
    log.info(`workos: rate limited (429); pausing every call for ${(waitMs / 1000).toFixed(1)} s (${reason})`);
    // Lowered once a window at most: the pauses of one storm come a Retry-After apart, with far fewer calls between
    // them than any budget, and lowering at each took the budget to its floor within seconds.
    if (!repeated || now - this.lastLoweredAt[kind] < this.windows[kind]) return;
    this.lastLoweredAt[kind] = now;
    const lowered = this.limiters[kind].slowDown();
    if (lowered === null) log.warn(`workos: 429s keep coming with no ${kind} budget set; set a ${kind === 'write' ? 'rate' : 'readRate'} such as 500/10s`);
    else log.warn(`workos: 429s keep coming; ${kind} budget lowered to ${formatRate(lowered)}`);
  }
}
