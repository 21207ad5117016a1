// The envelope that travels between every source, stage and sink (see ../shared/design.md "The record").

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
}

export interface OrgRef {
  externalId?: string;
  id?: string;
  name?: string;
  roles: string[];
}

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

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The key the design asks for: external id when known, else normalized email, else the row position. */
export function keyOf(user: UserDraft, seq: number): string {
  if (user.externalId) return `ext:${user.externalId}`;
  if (user.email) return `email:${normalizeEmail(user.email)}`;
  return `seq:${seq}`;
}

/** A source record as it arrived, before any mapping: `user` stays empty until `map` fills it. */
export function rawEnvelope(seq: number, origin: Origin, raw: Record<string, unknown>, issues: Issue[] = []): Envelope {
  return { seq, key: `seq:${seq}`, origin, user: {}, raw, issues };
}

/** Where a record came from, for messages: `users.csv:12`, or `users.json users[41]` where lines are unknown. */
export function describeOrigin(origin: Origin): string {
  if (origin.line !== undefined) return `${origin.file ?? 'input'}:${origin.line}`;
  return [origin.file, origin.page].filter(Boolean).join(' ') || 'input';
}
