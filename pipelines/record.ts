// The envelope that travels between every source, stage and sink (see ../shared/design.md "The record").
import { domainToASCII } from 'node:url';

export type IssueLevel = 'error' | 'warning';

export interface Issue {
  stage: string;
  /** Stable, searchable code such as `email.invalid` or `csv.ragged_row`. */
  code: string;
  level: IssueLevel;
  /** For people; never contains a password hash or an API key. */
  message: string;
  field?: string;
}

export interface Origin {
  file?: string;
  line?: number;
  page?: string;
  /** Lines of later rows of the same user that were joined into this one (dedupe), whose findings may be theirs. */
  joined?: number[];
}

export interface OrgRef {
  externalId?: string;
  id?: string;
  name?: string;
  roles: string[];
}

/** A role as WorkOS names it in an environment: its slug. */
export const ROLE_SLUG = /^[a-z0-9_-]+$/;
export const ROLE_SLUG_RULE = 'lowercase letters, digits, - and _';

export const PASSWORD_HASH_TYPES = ['bcrypt', 'firebase-scrypt', 'scrypt', 'argon2', 'pbkdf2', 'ssha', 'ssha256'] as const;
export type PasswordHashType = (typeof PASSWORD_HASH_TYPES)[number];

export interface UserDraft {
  email?: string;
  emailVerified?: boolean;
  firstName?: string;
  lastName?: string;
  externalId?: string;
  metadata?: Record<string, string>;
  passwordHash?: string;
  passwordHashType?: PasswordHashType;
  orgs?: OrgRef[];
  totpSecret?: string;
}

export interface Envelope {
  /** Position in the source, stable across runs. */
  seq: number;
  /** Identity of the row: external id if known, else the normalized email. */
  key: string;
  origin: Origin;
  user: UserDraft;
  raw?: Record<string, unknown>;
  issues: Issue[];
}

export function hasErrors(envelope: Envelope): boolean {
  return envelope.issues.some((issue) => issue.level === 'error');
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * A TOTP secret as WorkOS takes it: Base32 in upper case, without the spaces apps show it with (`jbsw y3dp ...`). The
 * same secret written another way is the same secret, not a changed one.
 */
export function normalizeTotpSecret(secret: string): string {
  return secret.replace(/\s+/g, '').toUpperCase();
}

/**
 * One spelling per mailbox, for comparing emails: trimmed and lowercased; Unicode has two spellings of "ä" (one code
 * point, or "a" and a combining mark) and a domain has its punycode one (`xn--`), so those are made one too.
 */
export function normalizeEmail(email: string): string {
  const lower = email.trim().toLowerCase();
  if (!NON_ASCII.test(lower)) return lower;
  const composed = lower.normalize('NFC');
  const at = composed.lastIndexOf('@');
  const asciiDomain = at === -1 ? '' : domainToASCII(composed.slice(at + 1));
  return asciiDomain === '' ? composed : `${composed.slice(0, at + 1)}${asciiDomain}`;
}

/** The key of a row known only by its position in the source. */
export function positionKey(seq: number): string {
  return `seq:${seq}`;
}

/** The key the design asks for: external id when known, else normalized email, else the row position. */
export function keyOf(user: UserDraft, seq: number): string {
  if (user.externalId) return `ext:${user.externalId}`;
  if (user.email) return `email:${normalizeEmail(user.email)}`;
  return positionKey(seq);
}

/** A source record as it arrived, before any mapping: `user` stays empty until `map` fills it. */
export function rawEnvelope(seq: number, origin: Origin, raw: Record<string, unknown>, issues: Issue[] = []): Envelope {
  return { seq, key: positionKey(seq), origin, user: {}, raw, issues };
}

/** Joined lines named at most, so a user in a hundred organizations does not fill a message. */
const JOINED_SHOWN = 5;

/**
 * Where a record came from, for messages: `users.csv:12`, `users.csv:12 (with line 13 joined)` for rows dedupe joined,
 * or `users.json users[41]` where lines are unknown.
 */
export function describeOrigin(origin: Origin): string {
  if (origin.line !== undefined) {
    const place = `${origin.file ?? 'input'}:${origin.line}`;
    const { joined = [] } = origin;
    if (joined.length === 0) return place;
    const more = joined.length > JOINED_SHOWN ? ` and ${joined.length - JOINED_SHOWN} more` : '';
    return `${place} (with ${joined.length === 1 ? 'line' : 'lines'} ${joined.slice(0, JOINED_SHOWN).join(', ')}${more} joined)`;
  }
  return [origin.file, origin.page].filter(Boolean).join(' ') || 'input';
}

/** A row with its source record and no user field yet: no map stage has been through it. */
export function isUnmapped(envelope: Envelope): boolean {
  if (envelope.raw === undefined) return false;
  for (const field in envelope.user) if (envelope.user[field as keyof UserDraft] !== undefined) return false;
  return true;
}

/** What a decoder makes of bytes it cannot decode: importing it would write a mangled name or email. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * An envelope as one NDJSON line (no line break). A U+FFFD in its text is written as the escape `\ufffd`: in a file that
 * also holds bytes that do not decode (a line edited in another encoding), the reading side takes a raw U+FFFD for one
 * of them, never an escaped one.
 */
export function envelopeLine(envelope: Envelope): string {
  const line = JSON.stringify(envelope);
  return line.includes(REPLACEMENT_CHARACTER) ? line.replaceAll(REPLACEMENT_CHARACTER, '\\ufffd') : line;
}
