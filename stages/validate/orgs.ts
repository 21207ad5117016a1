// Organization references on a user: each must name an org WorkOS can find, with roles WorkOS can assign.
import { ROLE_SLUG, ROLE_SLUG_RULE, type Envelope, type OrgRef } from '../../pipelines/record.ts';
import { addIssue, type ValidationRule } from './rule.ts';

/** A WorkOS organization id: `org_` and a ULID (26 characters of Crockford base32, which has no I, L, O or U). */
const ORG_ID = /^org_[0-9A-HJKMNP-TV-Z]{26}$/;

function checkReference(envelope: Envelope, org: OrgRef, field: string): void {
  if (org.id === undefined && org.externalId === undefined) {
    addIssue(envelope, 'error', 'org.reference_missing', field, 'an organization reference has neither an id nor an external id');
  } else if (org.id !== undefined && !ORG_ID.test(org.id)) {
    addIssue(envelope, 'error', 'org.id_invalid', field, `organization id ${JSON.stringify(org.id)} is not a WorkOS id (org_ and 26 characters)`);
  } else if (org.id === undefined && org.name === undefined) {
    // Harmless when the org exists (the writer looks it up by external id), but it cannot be created without a name.
    const message = `organization ${JSON.stringify(org.externalId)} has no name, so it cannot be created if WorkOS does not have it yet`;
    addIssue(envelope, 'warning', 'org.name_missing', field, message);
  }
  for (const role of org.roles) {
    if (!ROLE_SLUG.test(role)) {
      const named = JSON.stringify(org.externalId ?? org.id ?? org.name);
      addIssue(envelope, 'error', 'org.role_invalid', field, `role ${JSON.stringify(role)} in organization ${named} is not a slug (${ROLE_SLUG_RULE})`);
    }
  }
}

/** Each org once per user: two references to one org would ask for one membership twice. */
function checkRepeats(envelope: Envelope, orgs: OrgRef[]): void {
  const ids = new Set<string>();
  const externalIds = new Set<string>();
  orgs.forEach(({ id, externalId }, index) => {
    const repeated = id !== undefined && ids.has(id) ? id : externalId !== undefined && externalIds.has(externalId) ? externalId : undefined;
    if (repeated !== undefined) {
      const message = `organization ${JSON.stringify(repeated)} is listed twice for this user; list it once with all its roles`;
      addIssue(envelope, 'error', 'org.duplicate_reference', `orgs[${index}]`, message);
    }
    if (id !== undefined) ids.add(id);
    if (externalId !== undefined) externalIds.add(externalId);
  });
}

function checkOrgs(envelope: Envelope): void {
  const orgs = envelope.user.orgs;
  if (orgs === undefined) return;
  orgs.forEach((org, index) => checkReference(envelope, org, `orgs[${index}]`));
  if (orgs.length > 1) checkRepeats(envelope, orgs);
}

export const orgsRule: ValidationRule = {
  name: 'orgs',
  start: () => ({ check: checkOrgs }),
};
