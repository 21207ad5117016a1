// A user draft as WorkOS calls take it, and what changed between two drafts of one user.
import { createHash } from 'node:crypto';
import type { CreateUserOptions, UpdateUserOptions } from '@workos-inc/node';
import type { UserDraft } from '../../pipelines/record.ts';
import type { UserChanges } from '../../state/ledger.ts';
import { SECRET_IN_LEDGER } from '../../state/replay.ts';

type SdkHashType = CreateUserOptions['passwordHashType'];

const SCALAR_FIELDS = ['email', 'emailVerified', 'firstName', 'lastName', 'externalId'] as const;

/** A value as JSON with object fields sorted at every depth, so two equal drafts read the same whatever order set their fields. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const fields = Object.entries(value)
    .filter(([, field]) => field !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${fields.map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`).join(',')}}`;
}

/**
 * Identifies a draft: equal hashes, nothing to send again. Field order does not count: a draft whose password hash
 * the ledger restored (withExportedSecretsRestored) has it last, yet is the draft that was stored.
 */
export function draftHash(user: UserDraft): string {
  return createHash('sha256').update(canonicalJson(user)).digest('base64url');
}

export function createUserOptions(user: UserDraft): CreateUserOptions {
  return {
    // A row without an email is refused by WorkOS (422) and recorded as such; the validate stage catches it earlier.
    email: user.email ?? '',
    emailVerified: user.emailVerified,
    firstName: user.firstName,
    lastName: user.lastName,
    externalId: user.externalId,
    metadata: user.metadata,
    passwordHash: user.passwordHash,
    // pbkdf2 and ssha256 are in WorkOS's enum but not in SDK v8's type; the SDK passes the value through (§9).
    passwordHashType: user.passwordHashType as SdkHashType,
  };
}

export function updateUserOptions(userId: string, changes: UserChanges): UpdateUserOptions {
  return { userId, ...changes, passwordHashType: changes.passwordHashType as SdkHashType };
}

/**
 * Every key of `after`, and null for each key of `before` it lacks (WorkOS removes a key set to null), once any
 * differs; null when none does. Unchanged keys go too: a WorkOS-compatible server may replace the whole metadata
 * on an update rather than merge it (WorkOS's own emulator does), and would drop them.
 */
function metadataChanges(before: Record<string, string> = {}, after: Record<string, string> = {}): Record<string, string | null> | null {
  const removed = Object.keys(before).filter((key) => !(key in after));
  const changed = removed.length > 0 || Object.entries(after).some(([key, value]) => before[key] !== value);
  return changed ? { ...after, ...Object.fromEntries(removed.map((key) => [key, null])) } : null;
}

/**
 * The user fields to send so that WorkOS, holding `stored`, holds `next`. A field `next` leaves out is left
 * as it is in WorkOS; a metadata key it leaves out is removed.
 */
export function changesBetween(stored: UserDraft, next: UserDraft): UserChanges | null {
  const changes: UserChanges = {};
  let changed = false;
  for (const field of SCALAR_FIELDS) {
    const value = next[field];
    if (value !== undefined && value !== stored[field]) {
      Object.assign(changes, { [field]: value });
      changed = true;
    }
  }
  if (next.passwordHash !== undefined && (next.passwordHash !== stored.passwordHash || next.passwordHashType !== stored.passwordHashType)) {
    changes.passwordHash = next.passwordHash;
    changes.passwordHashType = next.passwordHashType;
    changed = true;
  }
  const metadata = metadataChanges(stored.metadata, next.metadata);
  if (metadata !== null) {
    changes.metadata = metadata;
    changed = true;
  }
  // WorkOS marks a changed email unverified: the source's word on it goes along, changed or not.
  if (changes.email !== undefined && next.emailVerified !== undefined) changes.emailVerified = next.emailVerified;
  return changed ? changes : null;
}

/** Changes still unsent, then newer ones on top: what WorkOS lacks after both. */
export function mergeChanges(older: UserChanges | null, newer: UserChanges | null): UserChanges | null {
  if (older === null) return newer;
  if (newer === null) return older;
  const merged: UserChanges = { ...older, ...newer };
  if (older.metadata !== undefined && newer.metadata !== undefined) merged.metadata = { ...older.metadata, ...newer.metadata };
  return merged;
}

/**
 * `replay --export` puts SECRET_IN_LEDGER for a password hash and a TOTP secret (exports of earlier versions left the
 * hash out, keeping its type); a row written back that way gets what the ledger holds for its key, so a fixed row
 * keeps its password and its MFA, and the placeholder never reaches WorkOS. `stored` is read only for such rows.
 */
export function withExportedSecretsRestored(user: UserDraft, stored: () => UserDraft | undefined): UserDraft {
  const hashLeftOut = user.passwordHash === SECRET_IN_LEDGER || (user.passwordHash === undefined && user.passwordHashType !== undefined);
  const secretLeftOut = user.totpSecret === SECRET_IN_LEDGER;
  if (!hashLeftOut && !secretLeftOut) return user;
  const storedUser = stored();
  const restored = { ...user };
  if (hashLeftOut) {
    if (storedUser?.passwordHash !== undefined && storedUser.passwordHashType === user.passwordHashType) restored.passwordHash = storedUser.passwordHash;
    else delete restored.passwordHash;
  }
  if (secretLeftOut) {
    if (storedUser?.totpSecret === undefined) delete restored.totpSecret;
    else restored.totpSecret = storedUser.totpSecret;
  }
  return restored;
}

/** The secrets an exported row left in a ledger that did not give them back (another ledger, or the key changed). */
export function secretsNotRestored(exported: UserDraft, restored: UserDraft): string[] {
  const lost: string[] = [];
  if (exported.passwordHash === SECRET_IN_LEDGER && restored.passwordHash === undefined) lost.push('password hash');
  if (exported.totpSecret === SECRET_IN_LEDGER && restored.totpSecret === undefined) lost.push('TOTP secret');
  return lost;
}
