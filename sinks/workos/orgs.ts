// Organizations are resolved once per org key for all rows and all runs: the ledger first, then a lookup by
// external id, then a create. Rows that need an org while it is being resolved wait for that one resolution.
import { createHash } from 'node:crypto';
import type { OrgRef } from '../../pipelines/record.ts';
import type { Ledger, OrgRecord } from '../../state/ledger.ts';
import type { WorkosApi } from './api.ts';
import { CallFailed, isNotFound } from './classify.ts';

/** `id:<WorkOS id>` for an org given by id, `ext:<external id>` otherwise; null when the ref names neither. */
export function orgKeyOf(org: OrgRef): string | null {
  if (org.id !== undefined) return `id:${org.id}`;
  if (org.externalId !== undefined) return `ext:${org.externalId}`;
  return null;
}

/** The WorkOS id an org key stands for: its own for an org given by id, else the one the ledger resolved it to. */
export function knownOrgId(ledger: Ledger, orgKey: string): string | undefined {
  return orgKey.startsWith('id:') ? orgKey.slice('id:'.length) : ledger.org(orgKey)?.workosOrgId;
}

/** The same org key always sends the same key, so a create retried after a lost answer makes one org. */
function idempotencyKeyOf(orgKey: string): string {
  return `authpipe-org-${createHash('sha256').update(orgKey).digest('base64url')}`;
}

/** Lookups of an organization WorkOS refused to create as existing (lookedForAgain: over about three seconds). */
const EXISTING_LOOKUPS = 3;

export class OrgResolver {
  private readonly resolutions = new Map<string, Promise<string>>();
  /** What each org key resolved to in this run. */
  private readonly resolved = new Map<string, string>();
  /** Ids WorkOS answered 404 for: orgs deleted since the ledger cached them. */
  private readonly stale = new Set<string>();

  constructor(
    private readonly api: WorkosApi,
    private readonly ledger: Ledger,
  ) {}

  /** The WorkOS id of `org`; an org given by id is taken as it is. */
  resolve(org: OrgRef, orgKey: string): Promise<string> {
    if (org.id !== undefined) return Promise.resolve(org.id);
    let resolution = this.resolutions.get(orgKey);
    if (resolution === undefined) {
      const started = this.lookUpOrCreate(org, org.externalId ?? '', orgKey);
      // A permanent failure is kept: every row of this run that needs the org fails alike instead of asking again.
      // A retryable one (a 503, a timeout) is forgotten, or one blip would fail the org's memberships on every row.
      started.catch((error: unknown) => {
        if (error instanceof CallFailed && error.failure.errorClass === 'retryable' && this.resolutions.get(orgKey) === started) this.resolutions.delete(orgKey);
      });
      started.then(
        (id) => this.resolved.set(orgKey, id),
        () => undefined,
      );
      this.resolutions.set(orgKey, started);
      resolution = started;
    }
    return resolution;
  }

  /**
   * Forgets an id WorkOS no longer knows (the org was deleted after the ledger cached it): the next resolve looks the
   * org up by external id again, or creates it. Without this, every membership into it failed on every later run.
   */
  forget(orgKey: string, staleId: string): void {
    this.stale.add(staleId);
    // Rows that met the same 404 at once: the first one starts the new resolution, the others take it.
    if (this.resolved.get(orgKey) !== staleId) return;
    this.resolved.delete(orgKey);
    this.resolutions.delete(orgKey);
  }

  private async lookUpOrCreate(org: OrgRef, externalId: string, orgKey: string): Promise<string> {
    const known = this.ledger.org(orgKey);
    if (known !== undefined && !this.stale.has(known.workosOrgId)) return known.workosOrgId;
    const found = await this.lookUp(externalId);
    if (found !== null) {
      this.ledger.orgResolved(orgKey, found);
      return found.workosOrgId;
    }
    const name = org.name;
    if (name === undefined) {
      throw new CallFailed({
        errorClass: 'permanent',
        code: 'organization_not_found',
        message: `organization ${JSON.stringify(externalId)} is not in WorkOS, and the row gives no name to create it with`,
        status: 404,
      });
    }
    const { organizations } = this.api.sdk;
    try {
      const created = await this.api.idempotent('write', () => organizations.createOrganization({ name, externalId }, { idempotencyKey: idempotencyKeyOf(orgKey) }));
      this.ledger.orgResolved(orgKey, { workosOrgId: created.id, name: created.name });
      return created.id;
    } catch (error) {
      if (!(error instanceof CallFailed && error.failure.code === 'external_id_already_used')) throw error;
    }
    // Made meanwhile (by another process, or by a create whose answer was lost on a server that ignores the
    // idempotency key), or not listed yet where lookups lag behind writes: looked up again, later each time.
    const existing = await this.api.lookedForAgain(EXISTING_LOOKUPS, () => this.lookUp(externalId));
    if (existing !== null) {
      this.ledger.orgResolved(orgKey, existing);
      return existing.workosOrgId;
    }
    throw new CallFailed({
      errorClass: 'retryable',
      code: 'organization_not_found',
      message: `WorkOS refused to create organization ${JSON.stringify(externalId)} as existing (external_id_already_used), but its external id finds none yet; the next run or a replay looks again`,
      status: null,
    });
  }

  /** The organization with this external id, or null; a failure says it was the lookup that failed. */
  private async lookUp(externalId: string): Promise<OrgRecord | null> {
    const { organizations } = this.api.sdk;
    try {
      const found = await this.api.idempotent('read', () => organizations.getOrganizationByExternalId(encodeURIComponent(externalId)));
      return { workosOrgId: found.id, name: found.name };
    } catch (error) {
      if (isNotFound(error)) return null;
      if (error instanceof CallFailed) {
        throw new CallFailed({ ...error.failure, message: `looking up organization ${JSON.stringify(externalId)} by external id: ${error.failure.message}` });
      }
      throw error;
    }
  }
}
