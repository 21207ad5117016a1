// Users: created exactly once, found again after a lost answer or a crash, updated field by field.
// Create user has no idempotency key (workos-api.md §2, §11), so a create is only ever sent again after
// a lookup has shown that the previous one did not land.
import { normalizeEmail, type UserDraft } from '../../pipelines/record.ts';
import type { UserChanges } from '../../state/ledger.ts';
import { notWorkos, type WorkosApi } from './api.ts';
import { CallFailed, isDuplicateUser, isNotFound, type Failure } from './classify.ts';
import { changesBetween, createUserOptions, updateUserOptions } from './payload.ts';

export interface WrittenUser {
  userId: string;
  /**
   * `created`: as WorkOS answered; `landed`: found once this create's answer was lost (a timeout, a 5xx, a broken
   * connection), most likely the create itself; `found`: WorkOS refused it as existing (there before the migration, or
   * made by an earlier run whose answer was lost).
   */
  how: 'created' | 'landed' | 'found';
}

/** A WorkOS user as the SDK returns it: the fields a draft can set. */
interface HeldUser {
  id: string;
  email: string;
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  externalId: string | null;
  /** The SDK types it as always there; a WorkOS-compatible server may leave it out. */
  metadata?: Record<string, string>;
}

/**
 * The user of a 2xx answer, which must name its id: recorded as done without one, a row would be skipped on every
 * later run and never found again. A TypeError is what the writer takes for an answer that is not WorkOS's (retryable).
 */
function withUserId<T extends { id: string }>(user: T): T {
  if (typeof user.id === 'string' && user.id !== '') return user;
  throw new TypeError('the answer names no user id');
}

function identityConflict(message: string): CallFailed {
  return new CallFailed({ errorClass: 'permanent', code: 'identity_conflict', message, status: null });
}

/**
 * The WorkOS user of this draft, by external id, else by email; null when there is none. The external id is the
 * source's own id for the user, so a user holding it is this one, whatever its email now. A user found by email
 * that holds another external id is another person: taking it would give this row's memberships to them.
 */
async function findHeldUser(api: WorkosApi, user: UserDraft): Promise<HeldUser | null> {
  const { externalId, email } = user;
  if (externalId !== undefined) {
    try {
      // The SDK puts the external id into the path as it is; `/`, `?` or `#` would change the route (§3).
      return await api.idempotent('read', () => api.sdk.userManagement.getUserByExternalId(encodeURIComponent(externalId)).then(withUserId));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  if (email === undefined) return null;
  // Matched again here: a server that ignores the filter answers with other users first.
  const wanted = normalizeEmail(email);
  const withEmail = (filter: string) =>
    api.idempotent('read', async () => {
      const page = await api.sdk.userManagement.listUsers({ email: filter });
      const found = page.data.find((candidate) => typeof candidate.email === 'string' && normalizeEmail(candidate.email) === wanted);
      return found === undefined ? null : withUserId(found);
    });
  // WorkOS keeps emails in lower case; a server whose filter minds case finds `Ana@X.com` only so, or only as given.
  const held = (await withEmail(wanted)) ?? (email === wanted ? null : await withEmail(email));
  if (held === null) return null;
  // An empty external id is none (a server may answer "" for null).
  if (externalId !== undefined && held.externalId && held.externalId !== externalId) {
    throw identityConflict(`email ${email} already belongs to WorkOS user ${held.id}, whose external id is ${JSON.stringify(held.externalId)}`);
  }
  return held;
}

/**
 * A WorkOS user as a draft to compare `user` with (changesBetween): only what the source could change. Metadata keys
 * the source does not have are left out, so no update removes them; the same email in another case is no change (a
 * server may refuse an email change, email_change_not_allowed); an empty external id is none.
 */
export function heldAsDraft(held: Omit<HeldUser, 'id'>, user: UserDraft): UserDraft {
  return {
    email: user.email !== undefined && normalizeEmail(held.email) === normalizeEmail(user.email) ? user.email : held.email,
    emailVerified: held.emailVerified,
    firstName: held.firstName ?? undefined,
    lastName: held.lastName ?? undefined,
    externalId: held.externalId || undefined,
    metadata: Object.fromEntries(Object.entries(held.metadata ?? {}).filter(([key]) => user.metadata !== undefined && key in user.metadata)),
  };
}

/**
 * The id of the WorkOS user of this draft, brought up to the draft's fields; null when there is none. A user that
 * was there before the migration gets the source's names, external id, metadata and password hash (WorkOS never
 * shows a hash, so it is always sent); metadata keys the source does not have are left alone.
 */
export async function findUser(api: WorkosApi, user: UserDraft): Promise<string | null> {
  const held = await findHeldUser(api, user);
  if (held === null) return null;
  const changes = changesBetween(heldAsDraft(held, user), user);
  // The keys the source lacks go along: a server that replaces metadata on an update would drop them.
  if (changes?.metadata !== undefined) changes.metadata = { ...held.metadata, ...changes.metadata };
  if (changes !== null) await updateUser(api, held.id, changes);
  return held.id;
}

/** `onSend` runs as the create request leaves, so the caller knows whether it may have landed. */
export async function createUser(api: WorkosApi, user: UserDraft, onSend: () => void): Promise<WrittenUser> {
  const options = createUserOptions(user);
  for (let retry = 0; ; retry++) {
    try {
      const created = await api.send('write', () => {
        onSend();
        return api.sdk.userManagement.createUser(options).then(withUserId);
      });
      return { userId: created.id, how: 'created' };
    } catch (error) {
      const failure = api.failureOf(error);
      // Creating a user names no resource that could be missing: a 404 is another server's, or another path's.
      if (failure.status === 404) throw notWorkos(`WorkOS answered 404 to creating a user: ${failure.message}`);
      if (isDuplicateUser(error)) return { userId: await findDuplicate(api, user, failure), how: 'found' };
      if (!(await api.retryAfter(failure, retry, 'write'))) throw new CallFailed(failure);
      // A timeout, a 5xx or a dropped connection loses the answer, not necessarily the create.
      const landed = await findUser(api, user);
      if (landed !== null) return { userId: landed, how: 'landed' };
    }
  }
}

/** Whether WorkOS has no user `userId` (any more). */
export async function isUserGone(api: WorkosApi, userId: string): Promise<boolean> {
  try {
    await api.idempotent('read', () => api.sdk.userManagement.getUser(userId));
    return false;
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

/** Lookups of a user WorkOS says exists before the row is failed (lookedForAgain: over about seven seconds). */
const DUPLICATE_LOOKUPS = 4;

/**
 * The user a create was refused for as existing. A server whose lists lag behind its writes (an index updated after
 * the create, whose answer was lost) may not show it at once: looked for again, later each time, then the row fails
 * retryable, for the next run or a replay to look again. Nothing is ever created in its place.
 */
async function findDuplicate(api: WorkosApi, user: UserDraft, failure: Failure): Promise<string> {
  const userId = await api.lookedForAgain(DUPLICATE_LOOKUPS, () => findUser(api, user));
  if (userId !== null) return userId;
  throw new CallFailed({
    errorClass: 'retryable',
    code: 'duplicate_not_found',
    message: `WorkOS refused the user as existing (${failure.code}: ${failure.message}), but neither its external id nor its email finds it yet; the next run or a replay looks again`,
    status: failure.status,
  });
}

/** An empty name or external id is none: a server may answer null for the "" it was sent. */
const sameText = (held: string | null, sent: string) => (held ?? '') === sent;

/** The fields of `changes` that `held`, the user WorkOS answered an update with, does not hold. */
function fieldsNotApplied(held: HeldUser, changes: UserChanges): string[] {
  const ignored: string[] = [];
  if (changes.email !== undefined && normalizeEmail(held.email) !== normalizeEmail(changes.email)) ignored.push('email');
  if (changes.emailVerified !== undefined && held.emailVerified !== changes.emailVerified) ignored.push('emailVerified');
  for (const field of ['firstName', 'lastName', 'externalId'] as const) {
    const sent = changes[field];
    if (sent !== undefined && !sameText(held[field], sent)) ignored.push(field);
  }
  const { metadata } = held;
  if (changes.metadata !== undefined && metadata !== undefined) {
    const keys = Object.entries(changes.metadata).filter(([key, value]) => (value === null ? key in metadata : metadata[key] !== value));
    if (keys.length > 0) ignored.push(`metadata (${keys.map(([key]) => key).join(', ')})`);
  }
  return ignored;
}

/**
 * Sends the changes, and fails the row when the answer shows some were not applied: a server that ignores a field
 * (WorkOS's own emulator ignores an email change) would otherwise have the row recorded as updated, and every diff and
 * replay after send it again.
 */
export async function updateUser(api: WorkosApi, userId: string, changes: UserChanges): Promise<void> {
  const send = (fields: UserChanges) => api.idempotent('write', () => api.sdk.userManagement.updateUser(updateUserOptions(userId, fields)).then(withUserId));
  let held = await send(changes);
  let ignored = fieldsNotApplied(held, changes);
  // WorkOS marks a changed email unverified: the source's word on it goes in an update of its own after the change.
  if (ignored.length === 1 && ignored[0] === 'emailVerified' && changes.email !== undefined && changes.emailVerified !== undefined) {
    held = await send({ emailVerified: changes.emailVerified });
    ignored = fieldsNotApplied(held, changes);
  }
  if (ignored.length === 0) return;
  throw new CallFailed({
    errorClass: 'permanent',
    code: 'update_not_applied',
    message: `WorkOS answered the update of user ${userId} without applying ${ignored.join(', ')}: the server may not allow changing it`,
    status: null,
  });
}
