// One row, from envelope to ledger: skipped when unchanged, recorded when invalid, otherwise marked
// `in_flight` (committed) before its user is created, updated or reconciled, then its memberships and
// TOTP factor, then `done` or `failed` with WorkOS's reason.
import { hasErrors, keyOf, positionKey, type Envelope, type UserDraft } from '../../pipelines/record.ts';
import type { Ledger, RowProgress, UserChanges } from '../../state/ledger.ts';
import { isNotValidated, SECRET_IN_LEDGER } from '../../state/replay.ts';
import type { WorkosApi } from './api.ts';
import { CallFailed, isNotFound, withoutUserSecrets, type Failure } from './classify.ts';
import { Interrupted } from './limiter.ts';
import { writeMemberships } from './memberships.ts';
import type { OrgResolver } from './orgs.ts';
import { changesBetween, draftHash, mergeChanges, secretsNotRestored, withExportedSecretsRestored } from './payload.ts';
import { enrollTotp } from './totp.ts';
import { createUser, findUser, isUserGone, updateUser } from './users.ts';

/** How the rows of one run ended. */
export interface RowCounts {
  created: number;
  /** Users found once their create's answer was lost (in this run or a killed one): created by it, most likely, but looked up like any found. */
  landed: number;
  updated: number;
  /** Users found in WorkOS where no create of this ledger's may have landed (they were there before): recorded, not created. */
  found: number;
  /** Rows whose user was already recorded and whose memberships or factor were finished now. */
  completed: number;
  unchanged: number;
  failed: number;
  invalid: number;
  /** Rows left for the next run by SIGINT/SIGTERM, or by a failure that stopped the run (an outage, a refused key). */
  interrupted: number;
  /** Rows of `replay --export` that no validate stage checked again: neither sent nor recorded. */
  notValidated: number;
}

type UserOutcome = 'created' | 'landed' | 'updated' | 'found' | 'completed';

interface WrittenRow {
  outcome: UserOutcome;
  userId: string;
}

/**
 * A create of an earlier attempt may have landed without us learning it: the run died with the row in flight,
 * or gave up after errors that lose the answer, not the call. Such a row is looked up before any create.
 */
export function needsLookupFirst(progress: RowProgress): boolean {
  return progress.workosUserId === null && (progress.state === 'in_flight' || (progress.state === 'failed' && progress.errorClass === 'retryable'));
}

export class RowWriter {
  readonly counts: RowCounts = { created: 0, landed: 0, updated: 0, found: 0, completed: 0, unchanged: 0, failed: 0, invalid: 0, interrupted: 0, notValidated: 0 };
  /** Failed rows by `class code`. */
  readonly failuresByCode = new Map<string, number>();

  constructor(
    private readonly api: WorkosApi,
    private readonly ledger: Ledger,
    private readonly orgs: OrgResolver,
    private readonly totpIssuer: string | undefined,
  ) {}

  get written(): number {
    const { created, landed, updated, found, completed } = this.counts;
    return created + landed + updated + found + completed;
  }

  async write(envelope: Envelope): Promise<void> {
    // One still invalid is recorded so below, and counted once, as invalid.
    if (isNotValidated(envelope) && !hasErrors(envelope)) {
      this.counts.notValidated++;
      return;
    }
    const { ledger } = this;
    const exportedKey = envelope.key;
    const user = withExportedSecretsRestored(envelope.user, () => ledger.storedPayload(exportedKey));
    const lost = secretsNotRestored(envelope.user, user);
    if (lost.length > 0) {
      // Sent without them, the user would lose the password or the MFA the source had: nothing is sent.
      const message = `the ${lost.join(' and ')} of this row ${lost.length === 1 ? 'is' : 'are'} kept in the ledger it was exported from ("${SECRET_IN_LEDGER}"), and ${ledger.file} holds none for ${exportedKey}: write it back with that ledger, its key unchanged`;
      this.fail(exportedKey, { errorClass: 'permanent', code: 'secret_not_in_ledger', message, status: null });
      return;
    }
    // A row recorded under its place (a duplicate) and fixed by hand comes back valid with that key: it goes by its
    // user's own key from now on (under its place it would be a second record of the user the next run writes again),
    // and its record at its place is dropped as any invalid record a valid row takes the place of.
    const key = !hasErrors(envelope) && exportedKey === positionKey(envelope.seq) ? keyOf(user, envelope.seq) : exportedKey;
    const payload = JSON.stringify(user);
    const hash = draftHash(user);
    const progress = ledger.progress(key);
    const unchanged = progress?.payloadHash === hash;
    const invalid = hasErrors(envelope);
    if (!invalid && unchanged && progress?.state === 'done') {
      this.counts.unchanged++;
      return;
    }
    // What WorkOS lacks of this payload: changes not sent yet, plus what changed since the stored payload.
    const pendingUpdate =
      progress?.workosUserId != null ? mergeChanges(progress.pendingUpdate, unchanged ? null : changesBetween(ledger.storedPayload(key) ?? {}, user)) : null;
    const record = { key, seq: envelope.seq, origin: envelope.origin, payload, payloadHash: hash, issues: envelope.issues, pendingUpdate };
    // The WorkOS import CSV has a row per organization: rows of one user share a key, and an invalid one among them is
    // recorded at its own position, neither overwriting the record of another row of that user nor overwritten by it.
    if (invalid) {
      // The same row seen before (its position, no WorkOS user yet) is simply invalid now.
      const heldByAnother = progress !== undefined && progress.state !== 'invalid' && (progress.seq !== envelope.seq || progress.workosUserId !== null);
      ledger.recordInvalid(heldByAnother ? { ...record, key: positionKey(envelope.seq) } : record);
      this.counts.invalid++;
      return;
    }
    if (progress?.state === 'invalid' && progress.seq !== envelope.seq) ledger.invalidMoved(key, positionKey(progress.seq));
    if (key !== positionKey(envelope.seq)) ledger.supersedeInvalidAt(envelope.seq, envelope.origin);
    const mustReconcile = progress !== undefined && needsLookupFirst(progress);
    await ledger.claim(record);
    let createSent = false;
    try {
      const { outcome, userId } = await this.writeRow(key, user, progress, pendingUpdate, mustReconcile, () => {
        createSent = true;
      });
      this.counts[outcome]++;
      ledger.rowDone(key, userId);
      this.retireFormerRecord(key, user, userId);
    } catch (error) {
      if (error instanceof CallFailed) {
        this.fail(key, withoutUserSecrets(error.failure, user));
      } else if (error instanceof Interrupted) {
        if (progress?.workosUserId == null && !mustReconcile && !createSent) ledger.rowReleased(key);
        this.counts.interrupted++;
      } else {
        // In flight in the ledger: the next run looks the row up before sending it again.
        this.counts.interrupted++;
        throw error;
      }
    }
  }

  /**
   * The record an earlier run kept of this user under its email, before the source gave it an external id: retired
   * once this row is done with the same WorkOS user (found by the usual lookup, which also refuses a user holding
   * another external id). Left behind with its old payload, diff and replay would send WorkOS back what the row
   * changed since.
   */
  private retireFormerRecord(key: string, user: UserDraft, userId: string): void {
    if (user.externalId === undefined || user.email === undefined) return;
    const formerKey = keyOf({ email: user.email }, 0);
    if (formerKey !== key) this.ledger.formerRecordRetired(formerKey, userId);
  }

  private async writeRow(key: string, user: UserDraft, progress: RowProgress | undefined, pendingUpdate: UserChanges | null, mustReconcile: boolean, onCreateSent: () => void): Promise<WrittenRow> {
    const { api } = this;
    let userId = progress?.workosUserId ?? null;
    let outcome: UserOutcome = 'completed';
    let reconcile = mustReconcile;
    if (userId !== null && pendingUpdate !== null) {
      try {
        await updateUser(api, userId, pendingUpdate);
        outcome = 'updated';
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // The user the ledger recorded was deleted in WorkOS since: found again (another user may hold the row's
        // identity now), else created whole, as if it were new.
        userId = null;
        reconcile = true;
      }
    }
    if (userId === null) return this.writeUser(key, user, progress, reconcile, mustReconcile, onCreateSent);
    try {
      await this.completeUser(key, user, progress, userId, outcome);
    } catch (error) {
      // Nothing of the user changed, so no update told that it was deleted in WorkOS since; a membership refused as
      // not found, for an organization that is there, does: it is found again or created, with all it should have.
      if (!(error instanceof CallFailed && error.failure.status === 404 && (await isUserGone(api, userId)))) throw error;
      return this.writeUser(key, user, progress, true, false, onCreateSent);
    }
    return { outcome, userId };
  }

  /**
   * The row's user found (when it may be there) or created, then given its memberships and factor. `createMayHaveLanded`:
   * an earlier run may have sent its create and lost the answer (it was killed, or gave up): a user found was most
   * likely created by it.
   */
  private async writeUser(
    key: string,
    user: UserDraft,
    progress: RowProgress | undefined,
    reconcile: boolean,
    createMayHaveLanded: boolean,
    onCreateSent: () => void,
  ): Promise<WrittenRow> {
    let userId = reconcile ? await findUser(this.api, user) : null;
    let outcome: UserOutcome = createMayHaveLanded ? 'landed' : 'found';
    if (userId === null) {
      const written = await createUser(this.api, user, onCreateSent);
      userId = written.userId;
      outcome = written.how;
    }
    await this.completeUser(key, user, progress, userId, outcome);
    return { outcome, userId };
  }

  /** The memberships and factor of the row's user; throws the first membership failure once the factor is done too. */
  private async completeUser(key: string, user: UserDraft, progress: RowProgress | undefined, userId: string, outcome: UserOutcome): Promise<void> {
    const { api, ledger } = this;
    const orgs = user.orgs ?? [];
    // With steps to follow, the user is recorded now; otherwise `done` records it in the same write.
    if (outcome !== 'completed' && (orgs.length > 0 || user.totpSecret !== undefined)) ledger.userWritten(key, userId);
    // The memberships and factor the ledger holds are those of a user that is gone: this one gets its own.
    const replaced = progress?.workosUserId != null && userId !== progress.workosUserId;
    const membershipFailure = orgs.length === 0 ? null : await writeMemberships(api, ledger, this.orgs, { userKey: key, userId, replaced }, orgs);
    if (user.totpSecret !== undefined) {
      const factor = { userKey: key, userId, secret: user.totpSecret, account: user.email, issuer: this.totpIssuer };
      await enrollTotp(api, ledger, factor, outcome === 'created', replaced);
    }
    if (membershipFailure !== null) throw new CallFailed(membershipFailure);
  }

  private fail(key: string, failure: Failure): void {
    this.ledger.rowFailed(key, failure);
    this.counts.failed++;
    const label = `${failure.errorClass} ${failure.code}`;
    this.failuresByCode.set(label, (this.failuresByCode.get(label) ?? 0) + 1);
  }
}
