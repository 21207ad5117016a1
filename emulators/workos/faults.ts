import { UsageError } from '../../pipelines/errors.ts';

// Fault injection for the emulator: what a flaky network and an overloaded API do to a writer. Every
// request draws its fault when it arrives, in arrival order, from a seeded generator, so a test that
// sends requests one at a time sees the same faults on every run.

/** How a 429 of a storm states its Retry-After header. */
export type RetryAfter = { format: 'seconds'; seconds: number } | { format: 'http-date'; seconds: number } | { format: 'none' };

export type FaultAction =
  /** Answer this status before the request takes effect. */
  | { kind: 'status'; status: number }
  /** Destroy the connection without answering; `afterApplying` lets the request take effect first. */
  | { kind: 'drop'; afterApplying: boolean }
  /** Answer 429 rate_limit_exceeded before the request takes effect; `page`: as an HTML page, as a gateway in front would. */
  | { kind: 'storm'; retryAfter: RetryAfter; page: boolean };

export type FaultRule =
  /** The action hits the next `count` requests; counted rules queue up in the order they were added. */
  | { kind: 'next'; action: FaultAction; count: number; writesOnly?: true }
  /** The action hits each request with probability `share` while no counted rule is pending. */
  | { kind: 'share'; action: FaultAction; share: number; writesOnly?: true }
  /** Every request waits minMs..maxMs (uniform) before it is handled. */
  | { kind: 'latency'; minMs: number; maxMs: number }
  /** Duplicate users are answered 409 user_already_exists, as older servers do. */
  | { kind: 'legacy-409' };

function invalid(item: string, expected: string): UsageError {
  return new UsageError('faults.invalid', `invalid fault "${item}": expected ${expected}`);
}

const COUNT = /^x([1-9]\d*)$/;
const SHARE = /^(0?\.\d+|1(\.0*)?)$/;

function parseAmount(item: string, text: string, action: FaultAction): Extract<FaultRule, { kind: 'next' | 'share' }> {
  const count = COUNT.exec(text);
  if (count) return { kind: 'next', action, count: Number(count[1]) };
  if (SHARE.test(text) && Number(text) > 0) return { kind: 'share', action, share: Number(text) };
  throw invalid(item, 'a share such as 0.05 or a count such as x3');
}

function parseRetryAfter(item: string, text: string): RetryAfter {
  if (text === 'none') return { format: 'none' };
  const date = /^date(?:\+(\d+))?$/.exec(text);
  if (date) return { format: 'http-date', seconds: Number(date[1] ?? 1) };
  if (/^\d+$/.test(text)) return { format: 'seconds', seconds: Number(text) };
  throw invalid(item, 'retry=SECONDS, retry=date, retry=date+SECONDS or retry=none');
}

/**
 * Parses `authpipe emulator --faults SPEC`. Grammar (items are comma-separated, spaces ignored):
 *
 *   status=CODE:SHARE        answer CODE (400-599) to a SHARE of requests            status=503:0.05
 *   status=CODExN            answer CODE to the next N requests                      status=502x3
 *   status=...:writes        the same, for writes only (POST, PUT, DELETE): reads    status=500:1:writes
 *                            are answered, as when WorkOS fails creates but not lookups
 *   latency=MS[-MS]          delay every request by MS, or uniformly in the range    latency=20-80
 *   drop=SHARE | drop=xN     destroy the connection before the request takes effect  drop=0.01
 *   drop-after=SHARE | =xN   apply the request, then destroy the connection unanswered drop-after=x1
 *   storm=429xN[:retry=R][:page]  answer 429 rate_limit_exceeded to the next N requests   storm=429x40:retry=2
 *                            R: SECONDS (default 1), date[+SECONDS] for an HTTP-date that far ahead,
 *                            or none for no Retry-After header; page: the body is an HTML page, not JSON
 *   legacy-409               answer duplicate users with 409 user_already_exists
 *
 * SHARE is a probability in (0, 1]. Counted items (xN) queue in the order written, so
 * `status=503x2,storm=429x3` answers two 503s and then three 429s; shares apply while that queue is empty.
 */
export function parseFaultSpec(spec: string): FaultRule[] {
  const rules: FaultRule[] = [];
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === 'legacy-409') {
      rules.push({ kind: 'legacy-409' });
      continue;
    }
    const equals = item.indexOf('=');
    const name = equals < 0 ? item : item.slice(0, equals);
    const value = item.slice(equals + 1);
    switch (name) {
      case 'status': {
        const match = /^([45]\d\d)(?::(.+?)|(x\d+))(:writes)?$/.exec(value);
        if (!match) throw invalid(item, 'status=CODE:SHARE or status=CODExN with CODE in 400-599, then :writes if wanted');
        const rule = parseAmount(item, match[2] ?? match[3] ?? '', { kind: 'status', status: Number(match[1]) });
        rules.push(match[4] === undefined ? rule : { ...rule, writesOnly: true });
        break;
      }
      case 'latency': {
        const match = /^(\d+)(?:-(\d+))?$/.exec(value);
        const minMs = Number(match?.[1]);
        const maxMs = Number(match?.[2] ?? match?.[1]);
        if (!match || maxMs < minMs) throw invalid(item, 'latency=MS or latency=MIN-MAX in milliseconds');
        rules.push({ kind: 'latency', minMs, maxMs });
        break;
      }
      case 'drop':
      case 'drop-after':
        rules.push(parseAmount(item, value, { kind: 'drop', afterApplying: name === 'drop-after' }));
        break;
      case 'storm': {
        const match = /^429x([1-9]\d*)(?::retry=([^:]+))?(:page)?$/.exec(value);
        if (!match) throw invalid(item, 'storm=429xN, with :retry=R and :page if wanted');
        const retryAfter = match[2] === undefined ? { format: 'seconds' as const, seconds: 1 } : parseRetryAfter(item, match[2]);
        rules.push({ kind: 'next', action: { kind: 'storm', retryAfter, page: match[3] !== undefined }, count: Number(match[1]) });
        break;
      }
      default:
        throw invalid(item, 'one of status=, latency=, drop=, drop-after=, storm=, legacy-409');
    }
  }
  return rules;
}

/** mulberry32: tiny, fast and good enough to decide which requests fail. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultController {
  /** Answer duplicate users with 409 user_already_exists instead of the current 400 bodies. */
  legacyConflicts = false;
  private readonly queue: { action: FaultAction; remaining: number; writesOnly: boolean }[] = [];
  private readonly shares: { action: FaultAction; share: number; writesOnly: boolean }[] = [];
  private latency: { minMs: number; maxMs: number } | null = null;
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  /** Adds the faults of a spec string (grammar at parseFaultSpec); throws UsageError faults.invalid. */
  apply(spec: string): void {
    for (const rule of parseFaultSpec(spec)) this.add(rule);
  }

  add(rule: FaultRule): void {
    switch (rule.kind) {
      case 'next':
        this.queue.push({ action: rule.action, remaining: rule.count, writesOnly: rule.writesOnly === true });
        break;
      case 'share':
        this.shares.push({ action: rule.action, share: rule.share, writesOnly: rule.writesOnly === true });
        break;
      case 'latency':
        this.latency = { minMs: rule.minMs, maxMs: rule.maxMs };
        break;
      case 'legacy-409':
        this.legacyConflicts = true;
        break;
    }
  }

  /** Back to a well-behaved server: no pending, random or latency faults, current duplicate bodies. */
  clear(): void {
    this.queue.length = 0;
    this.shares.length = 0;
    this.latency = null;
    this.legacyConflicts = false;
  }

  /** Counted faults not yet spent. */
  get pending(): number {
    let total = 0;
    for (const entry of this.queue) total += entry.remaining;
    return total;
  }

  /** Draws the delay of the request that just arrived. */
  nextDelayMs(): number {
    if (!this.latency) return 0;
    const { minMs, maxMs } = this.latency;
    if (minMs === maxMs) return minMs;
    return minMs + Math.floor(this.random() * (maxMs - minMs + 1));
  }

  /** Draws the fault of the request that just arrived, or null to handle it normally. */
  nextAction(method: string | undefined): FaultAction | null {
    const isWrite = method !== 'GET';
    const head = this.queue[0];
    if (head) {
      if (head.writesOnly && !isWrite) return null;
      if (--head.remaining === 0) this.queue.shift();
      return head.action;
    }
    for (const { action, share, writesOnly } of this.shares) if ((isWrite || !writesOnly) && this.random() < share) return action;
    return null;
  }
}
