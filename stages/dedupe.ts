// The WorkOS import CSV (and other exports) list a user in several organizations as several adjacent rows.
// Merging them here keeps every membership; the validate stage would otherwise reject the later rows as duplicates.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { defineStage } from '../pipelines/component.ts';
import { describeOrigin, hasErrors, normalizeEmail, type Envelope, type OrgRef, type UserDraft } from '../pipelines/record.ts';

const COMPARED_FIELDS = ['email', 'emailVerified', 'firstName', 'lastName', 'externalId', 'metadata', 'passwordHash', 'passwordHashType', 'totpSecret'] as const;

/** Invalid rows held while a user's group is open: a user's rows are few, and a file of one key throughout is not held. */
const MAX_HELD = 100;

const disagree = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a !== b;

/**
 * One organization: the same id or external id, and neither differing. Refs that share one and differ in the other
 * are a conflict in the export, kept apart for validate to report (org.duplicate_reference), not merged into one.
 */
function sameOrg(a: OrgRef, b: OrgRef): boolean {
  if (disagree(a.id, b.id) || disagree(a.externalId, b.externalId)) return false;
  return (a.id !== undefined && a.id === b.id) || (a.externalId !== undefined && a.externalId === b.externalId);
}

function mergeOrgs(into: UserDraft, from: OrgRef[]): void {
  const orgs = (into.orgs ??= []);
  for (const org of from) {
    const existing = orgs.find((candidate) => sameOrg(candidate, org));
    if (!existing) {
      orgs.push({ ...org, roles: [...org.roles] });
      continue;
    }
    // What one row names of the organization and the other does not (its WorkOS id, its name) is kept.
    for (const field of ['id', 'externalId', 'name'] as const) if (existing[field] === undefined && org[field] !== undefined) existing[field] = org[field];
    for (const role of org.roles) if (!existing.roles.includes(role)) existing.roles.push(role);
  }
}

function merge(first: Envelope, next: Envelope): void {
  const differing = COMPARED_FIELDS.filter((field) => next.user[field] !== undefined && !isDeepStrictEqual(first.user[field], next.user[field]));
  if (differing.length > 0) {
    first.issues.push({
      stage: 'dedupe',
      code: 'dedupe.conflicting_fields',
      level: 'warning',
      message: `${describeOrigin(next.origin)}: same user as ${describeOrigin(first.origin)} with other ${differing.join(', ')}; the first row's values are kept`,
    });
  }
  mergeOrgs(first.user, next.user.orgs ?? []);
  first.issues.push(...next.issues);
  // What validate finds in the joined row (a bad role of its organization) may come from this line.
  if (next.origin.line !== undefined && next.origin.file === first.origin.file) first.origin = { ...first.origin, joined: [...(first.origin.joined ?? []), next.origin.line] };
}

/**
 * Rows with one external id and two emails are two people sharing an id (a CRM id reused, a copy-paste slip), not one
 * user in two organizations: merging would give the second person's memberships to the first and drop the second.
 */
function isOtherPerson(first: Envelope, next: Envelope): boolean {
  const [a, b] = [first.user.email, next.user.email];
  return a !== undefined && b !== undefined && normalizeEmail(a) !== normalizeEmail(b);
}

export const dedupeStage = defineStage({
  name: 'dedupe',
  summary: 'Merges adjacent rows of the same user (same key) into one, joining their organizations and roles.',
  options: z.object({}),
  create() {
    return async function* dedupe(input) {
      let pending: Envelope | undefined;
      /**
       * Invalid rows of the pending user, given out after it: one bad row among a user's rows (a bad email_verified in
       * one organization) must not end the group, or the rows after it would be rejected as duplicates.
       */
      const held: Envelope[] = [];
      for await (const envelope of input) {
        if (pending && pending.key === envelope.key && !hasErrors(pending) && hasErrors(envelope) && held.length < MAX_HELD) {
          held.push(envelope);
          continue;
        }
        if (pending && pending.key === envelope.key && !hasErrors(pending) && !hasErrors(envelope)) {
          if (!isOtherPerson(pending, envelope)) {
            merge(pending, envelope);
            continue;
          }
          envelope.issues.push({
            stage: 'dedupe',
            code: 'dedupe.identity_conflict',
            level: 'error',
            field: 'externalId',
            message: `${describeOrigin(envelope.origin)}: external id ${JSON.stringify(envelope.user.externalId)} is also that of ${describeOrigin(pending.origin)}, which has another email; the rows are not merged`,
          });
        }
        if (pending) yield pending;
        yield* held.splice(0);
        pending = envelope;
      }
      if (pending) yield pending;
      yield* held;
    };
  },
});
