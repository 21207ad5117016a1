// `--dry-run`: what a run would do, from the rows and the ledger alone. Not a single request is sent (reads
// neither), so the plan cannot know which users already exist in WorkOS without a ledger saying so.
import type { SinkDetails } from '../../pipelines/component.ts';
import { hasErrors, type Envelope } from '../../pipelines/record.ts';
import type { Ledger } from '../../state/ledger.ts';
import { isNotValidated } from '../../state/replay.ts';
import { formatDuration, formatRate, type RateBudget } from '../../pipelines/rate.ts';
import { sameRoles } from './memberships.ts';
import { orgKeyOf } from './orgs.ts';
import { changesBetween, draftHash, withExportedSecretsRestored } from './payload.ts';
import { needsLookupFirst } from './row-writer.ts';
import { counted } from '../../pipelines/log.ts';

export interface PlanCounts {
  create: number;
  update: number;
  /** Rows an earlier run left in flight: each is looked up first, and created only if absent. */
  reconcile: number;
  /** Rows whose user is recorded and whose memberships or factor are still to do. */
  complete: number;
  unchanged: number;
  invalid: number;
  memberships: number;
  /** Distinct organizations not in the ledger: each is looked up, and created if absent. */
  orgs: number;
  factors: number;
}

export class WritePlan {
  readonly counts: PlanCounts = { create: 0, update: 0, reconcile: 0, complete: 0, unchanged: 0, invalid: 0, memberships: 0, orgs: 0, factors: 0 };
  private readonly orgKeys = new Set<string>();

  /** `ledger` is null when the run would start a new one. */
  constructor(private readonly ledger: Ledger | null) {}

  add(envelope: Envelope): void {
    const { counts, ledger } = this;
    // What a run sends nowhere: rows with errors, and exported rows no validate stage checked again.
    if (hasErrors(envelope) || isNotValidated(envelope)) {
      counts.invalid++;
      return;
    }
    const { key } = envelope;
    const user = withExportedSecretsRestored(envelope.user, () => ledger?.storedPayload(key));
    const progress = ledger?.progress(key);
    const unchanged = progress?.payloadHash === draftHash(user);
    if (progress?.state === 'done' && unchanged) {
      counts.unchanged++;
      return;
    }
    if (progress?.workosUserId != null) {
      const changed = progress.pendingUpdate !== null || (!unchanged && changesBetween(ledger?.storedPayload(key) ?? {}, user) !== null);
      counts[changed ? 'update' : 'complete']++;
    } else {
      counts[progress !== undefined && needsLookupFirst(progress) ? 'reconcile' : 'create']++;
    }
    for (const org of user.orgs ?? []) {
      const orgKey = orgKeyOf(org);
      if (orgKey === null) continue;
      const membership = ledger?.membership(key, orgKey);
      if (membership?.state === 'done' && sameRoles(membership.roles, [...new Set(org.roles)])) continue;
      counts.memberships++;
      if (org.id === undefined && !this.orgKeys.has(orgKey) && ledger?.org(orgKey) === undefined) {
        this.orgKeys.add(orgKey);
        counts.orgs++;
      }
    }
    if (user.totpSecret !== undefined && ledger?.factor(key)?.state !== 'done') counts.factors++;
  }

  /** At most this many write calls (an org that exists costs a read instead of a create). */
  get writeCalls(): number {
    const { create, update, reconcile, memberships, orgs, factors } = this.counts;
    return create + update + reconcile + memberships + orgs + factors;
  }

  /** Seconds the write calls take at `budget`; null without one. */
  private secondsAt(budget: RateBudget | null): number | null {
    return budget === null ? null : Math.ceil((this.writeCalls / budget.limit) * (budget.windowMs / 1000));
  }

  describe(budget: RateBudget | null): string[] {
    const { create, update, reconcile, complete, unchanged, invalid, memberships, orgs, factors } = this.counts;
    const users = `dry run: ${counted(create, 'user')} to create, ${update} to update, ${reconcile} to reconcile (left in flight), ${complete} to complete, ${unchanged} unchanged, ${invalid} invalid`;
    const rest = `dry run: ${counted(orgs, 'organization')} to resolve, ${counted(memberships, 'membership')}, ${counted(factors, 'TOTP factor')}; at most ${counted(this.writeCalls, 'write call')}`;
    const seconds = this.secondsAt(budget);
    if (budget === null || seconds === null) return [users, `${rest} (no write budget set)`];
    return [users, `${rest}, about ${formatDuration(seconds)} at ${formatRate(budget)}`];
  }

  /** The plan for --json: its counts, the write calls, and the seconds they take at `budget` (absent without one). */
  details(budget: RateBudget | null): SinkDetails {
    const seconds = this.secondsAt(budget);
    return { ...this.counts, writeCalls: this.writeCalls, ...(seconds === null ? {} : { seconds }) };
  }
}


