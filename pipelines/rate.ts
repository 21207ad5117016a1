// Call budgets written as calls per window ("500/10s"): the workos sink spends one, the WorkOS emulator
// enforces one, and both read them with the same rules.
import { UsageError } from './errors.ts';

export interface RateBudget {
  limit: number;
  windowMs: number;
}

/** Written instead of a rate where there is no budget. */
export const NO_BUDGET = 'none';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const RATE = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*$/;

/** "500/10s", "50/1s", "50/s", "1000/1m", "100/500ms" → a budget. A zero budget would never let a call through. */
export function parseRate(text: string): RateBudget {
  const match = RATE.exec(text);
  const limit = Number(match?.[1]);
  const windowMs = Number(match?.[2] || 1) * (UNIT_MS[match?.[3] ?? ''] ?? 0);
  if (!match || !Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new UsageError('rate.invalid', `invalid rate "${text}": expected requests/window such as 500/10s, 50/1s, 1000/1m or 100/500ms`);
  }
  return { limit, windowMs };
}

/** A rate, or `none` (null: no budget). */
export function parseBudget(text: string): RateBudget | null {
  return text.trim() === NO_BUDGET ? null : parseRate(text);
}

export function isBudget(text: string): boolean {
  try {
    parseBudget(text);
    return true;
  } catch {
    return false;
  }
}

/** 10000 → "10s", 500 → "500ms". */
export function formatWindow(windowMs: number): string {
  return windowMs % 1000 === 0 ? `${windowMs / 1000}s` : `${windowMs}ms`;
}

/** Whole seconds as people read them: "45 s", "3 min 20 s", "10 min", "6 h 5 min". */
export function formatDuration(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = (count: number, unit: string) => (count > 0 ? ` ${count} ${unit}` : '');
  if (hours > 0) return `${hours} h${rest(minutes, 'min')}`;
  return minutes > 0 ? `${minutes} min${rest(seconds % 60, 's')}` : `${seconds} s`;
}

export function formatRate(budget: RateBudget | null): string {
  if (budget === null) return NO_BUDGET;
  return `${budget.limit}/${formatWindow(budget.windowMs)}`;
}
