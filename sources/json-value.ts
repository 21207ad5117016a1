// What a parsed JSON value is, for the json and ndjson sources (only an object can be a user record), and how its
// numbers keep their digits, for them and for the workos-csv preset's metadata cells.
import { REPLACEMENT_CHARACTER } from '../pipelines/record.ts';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value's kind as a message names it: `an array`, `a string`, `null`. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * Deeper than any real export nests: a record thousands deep overflows the stack of whatever walks it later
 * (JSON.stringify in a sink), which would end the run, so the sources refuse it as a row of its own.
 */
export const MAX_NESTING = 64;

/** Whether objects and arrays nest inside the value more than MAX_NESTING deep. */
export function nestsTooDeep(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= MAX_NESTING) return true;
  for (const inner of Array.isArray(value) ? value : Object.values(value)) {
    if (nestsTooDeep(inner, depth + 1)) return true;
  }
  return false;
}

/** Whether any key or text inside the value holds REPLACEMENT_CHARACTER. */
export function holdsUndecodedText(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(REPLACEMENT_CHARACTER);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsUndecodedText);
  return Object.entries(value).some(([key, inner]) => key.includes(REPLACEMENT_CHARACTER) || holdsUndecodedText(inner));
}

const SIXTEEN_DIGITS = /\d{16}/;
const STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * Whether a JSON number is kept as its text: a whole number past 2^53, however written (`12345678901234567890`, or
 * `…890.0` and `1.2345678901234567e18` as pandas writes float ids), would be rounded into another user's id without a
 * word; as text it stays what the file says (and validate knows scientific notation for a mangled id).
 */
export function keptAsText(number: string): boolean {
  const value = Number(number);
  return Number.isInteger(value) && !Number.isSafeInteger(value);
}

/**
 * JSON text with each number keptAsText written as a string. Only text with a run of 16 digits is looked into: a
 * number short of that is a safe integer or not a whole one.
 */
export function withExactIntegers(json: string): string {
  if (!SIXTEEN_DIGITS.test(json)) return json;
  return json.replace(STRING_OR_NUMBER, (token) => (token.startsWith('"') || !keptAsText(token) ? token : `"${token}"`));
}
