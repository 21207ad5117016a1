// Clerk dashboard export (sources.md §5): cells read by header name, since public samples order the columns
// differently (test-vectors.md §6). All knowledge of Clerk's columns and password hashers lives here.
import type { Envelope } from '../../pipelines/record.ts';
import { addIssue, cell, isReported, quoteHashName, setMetadata, type SourceRecord } from '../mapping.ts';
import type { Preset } from './index.ts';
import { hasHashLayout } from '../validate/hash.ts';

const POSITIVE_INTEGER = /^[1-9]\d*$/;
const BASE64_PADDING = /=+$/;

const NO_PASSWORD = 'the user is created without a password and must reset it';

/**
 * The separator of multi-value cells is unconfirmed: commas, semicolons, pipes and whitespace all count, and so do a
 * JSON array's brackets and quotes (`["ana@example.com"]`).
 */
function isListSeparator(code: number): boolean {
  return code === 44 || code === 59 || code === 124 || code === 32 || code === 9 || code === 10 || code === 13 || code === 34 || code === 91 || code === 93;
}

/** Whether `list` holds `item` as a whole entry, comparing without case. */
function listIncludes(list: string, item: string): boolean {
  // Most users have one verified address, the primary one: no need to lowercase two strings for that.
  if (list === item) return true;
  const haystack = list.toLowerCase();
  const needle = item.toLowerCase();
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    const startsEntry = at === 0 || isListSeparator(haystack.charCodeAt(at - 1));
    const endsEntry = end === haystack.length || isListSeparator(haystack.charCodeAt(end));
    if (startsEntry && endsEntry) return true;
  }
  return false;
}

/** Standard base64 without padding, as the PHC form takes it; a URL-safe spelling (`-`, `_`) is converted (test-vectors §1b). */
function phcBase64(base64: string): string {
  return base64.replace(BASE64_PADDING, '').replaceAll('-', '+').replaceAll('_', '/');
}

/** Firebase's scrypt parameters (its hash config; the Admin SDK refuses others): rounds 1–8, mem cost 1–14. */
const FIREBASE_ROUNDS = { min: 1, max: 8 };
const FIREBASE_MEM_COST = { min: 1, max: 14 };

function inRange(digits: string, range: { min: number; max: number }): boolean {
  return POSITIVE_INTEGER.test(digits) && Number(digits) >= range.min && Number(digits) <= range.max;
}

/**
 * Clerk's `scrypt_firebase` digest is `hash$salt$signer key$salt separator$rounds$mem cost`; WorkOS takes the
 * documented PHC form (workos-api.md §9): unpadded base64, params in the order r, m, ss, sk.
 */
function firebaseScryptPhc(digest: string): string | undefined {
  const parts = digest.split('$');
  if (parts.length !== 6) return undefined;
  const [hash, salt, signerKey, saltSeparator, rounds, memCost] = parts;
  if (!hash || !salt || !signerKey || !inRange(rounds, FIREBASE_ROUNDS) || !inRange(memCost, FIREBASE_MEM_COST)) return undefined;
  const params = `r=${rounds},m=${memCost},ss=${phcBase64(saltSeparator)},sk=${phcBase64(signerKey)}`;
  const phc = `$firebase-scrypt$v=1$${params}$${phcBase64(salt)}$${phcBase64(hash)}`;
  // A part that is no base64 would make validate reject the row, losing the user rather than only the password.
  return hasHashLayout('firebase-scrypt', phc) ? phc : undefined;
}

function malformed(envelope: Envelope, hasher: string): void {
  addIssue(envelope, 'warning', 'hash.malformed', 'passwordHash', `password_digest is not a valid ${hasher} hash; ${NO_PASSWORD}`);
}

/** Branches on `password_hasher`, never on the digest's prefix (sources.md §5). */
function mapPassword(raw: SourceRecord, envelope: Envelope): void {
  const digest = cell(raw, 'password_digest', envelope);
  const hasher = cell(raw, 'password_hasher', envelope)?.toLowerCase();
  if (digest === undefined) {
    // A hasher names a password the export should hold: its loss is said, not passed over (if not said already).
    if (hasher !== undefined && !isReported(envelope, 'password_digest')) addIssue(envelope, 'warning', 'hash.empty', 'passwordHash', `password_hasher ${quoteHashName(hasher)} is given but password_digest is empty; ${NO_PASSWORD}`);
    return;
  }
  const user = envelope.user;
  switch (hasher) {
    case 'bcrypt':
      if (!hasHashLayout('bcrypt', digest)) return malformed(envelope, hasher);
      user.passwordHash = digest;
      user.passwordHashType = 'bcrypt';
      return;
    case 'scrypt_firebase': {
      const phc = firebaseScryptPhc(digest);
      if (phc === undefined) return malformed(envelope, hasher);
      user.passwordHash = phc;
      user.passwordHashType = 'firebase-scrypt';
      return;
    }
    case 'argon2i':
    case 'argon2id':
      // The whole PHC string, of the variant the hasher names: validate would otherwise reject the row, losing the user.
      if (!digest.startsWith(`$${hasher}$`) || !hasHashLayout('argon2', digest)) return malformed(envelope, hasher);
      user.passwordHash = digest;
      user.passwordHashType = 'argon2';
      return;
    default: {
      const which =
        hasher === undefined ? 'no password_hasher is given' : `password_hasher ${quoteHashName(hasher)} has no WorkOS equivalent`;
      addIssue(envelope, 'warning', 'hash.unsupported', 'passwordHash', `${which}; ${NO_PASSWORD}`);
    }
  }
}

function mapClerkUser(raw: SourceRecord, envelope: Envelope): void {
  const user = envelope.user;
  const email = cell(raw, 'primary_email_address', envelope);
  if (email !== undefined) {
    user.email = email;
    const verified = cell(raw, 'verified_email_addresses', envelope);
    user.emailVerified = verified !== undefined && listIncludes(verified, email);
  }
  const firstName = cell(raw, 'first_name', envelope);
  if (firstName !== undefined) user.firstName = firstName;
  const lastName = cell(raw, 'last_name', envelope);
  if (lastName !== undefined) user.lastName = lastName;
  const id = cell(raw, 'id', envelope);
  if (id !== undefined) user.externalId = id;
  const username = cell(raw, 'username', envelope);
  if (username !== undefined) setMetadata(user, 'username', username);
  const totpSecret = cell(raw, 'totp_secret', envelope);
  if (totpSecret !== undefined) user.totpSecret = totpSecret;
  mapPassword(raw, envelope);
}

export const clerkPreset: Preset = {
  name: 'clerk',
  summary:
    'Clerk dashboard export: id -> externalId, primary email (verified when listed in verified_email_addresses), ' +
    'names, username -> metadata, TOTP secret; bcrypt, scrypt_firebase and argon2 digests kept, other hashers dropped with a warning',
  identityColumns: ['id', 'primary_email_address'],
  dataColumns: {
    verified_email_addresses: 'every email is imported as not verified',
    password_digest: 'no user gets their password hash, so every user must reset their password',
    password_hasher: 'no user gets their password hash, so every user must reset their password',
    totp_secret: 'no TOTP factor is imported',
    first_name: 'no user gets a first name',
    last_name: 'no user gets a last name',
  },
  optionalColumns: ['username'],
  map: mapClerkUser,
};
