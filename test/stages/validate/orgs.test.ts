import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findings, validate } from './run.ts';

const ACME_ID = 'org_01EHZNVPK3SFK441A1RGBFSHRT';
const GLOBEX_ID = 'org_01H9ZJQ4X5N7R2B8C3D6E0F1G4';

test('accepts references by WorkOS id or by external id with a name, with slug roles', async () => {
  const envelopes = await validate(['orgs'], [
    { orgs: [{ id: ACME_ID, roles: ['admin'] }] },
    { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['member', 'billing_admin', 'org-owner-2'] }, { id: GLOBEX_ID, roles: [] }] },
    { orgs: [] },
    { firstName: 'no orgs' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], [], [], []],
  );
});

test('rejects a reference without id or external id as org.reference_missing', async () => {
  const [envelope] = await validate(['orgs'], [{ orgs: [{ id: ACME_ID, roles: [] }, { name: 'Acme', roles: ['admin'] }] }]);
  assert.deepEqual(findings(envelope), ['error org.reference_missing']);
  assert.equal(envelope.issues[0].field, 'orgs[1]');
  assert.equal(envelope.issues[0].message, 'users.csv:2: an organization reference has neither an id nor an external id');
});

test('rejects an org id that is not org_ and 26 Crockford base32 characters as org.id_invalid', async () => {
  const ids = ['acme', 'org_123', 'org_01ehznvpk3sfk441a1rgbfshrt', 'org_01EHZNVPK3SFK441A1RGBFSHRI', `${ACME_ID}X`, 'user_01EHZNVPK3SFK441A1RGBFSHRT'];
  const envelopes = await validate(['orgs'], ids.map((id) => ({ orgs: [{ id, roles: [] }] })));
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    ids.map(() => ['error org.id_invalid']),
  );
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: organization id "acme" is not a WorkOS id (org_ and 26 characters)');
});

test('rejects a role that is not a lowercase slug as org.role_invalid, once per bad role', async () => {
  const [envelope] = await validate(['orgs'], [{ orgs: [{ externalId: 'acme', name: 'Acme', roles: ['admin', 'Admin', '', 'team lead'] }] }]);
  assert.deepEqual(findings(envelope), ['error org.role_invalid', 'error org.role_invalid', 'error org.role_invalid']);
  assert.deepEqual(
    envelope.issues.map((issue) => issue.message),
    [
      'users.csv:2: role "Admin" in organization "acme" is not a slug (lowercase letters, digits, - and _)',
      'users.csv:2: role "" in organization "acme" is not a slug (lowercase letters, digits, - and _)',
      'users.csv:2: role "team lead" in organization "acme" is not a slug (lowercase letters, digits, - and _)',
    ],
  );
});

test('rejects the same org listed twice on one user, by id or by external id', async () => {
  const envelopes = await validate(['orgs'], [
    { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }, { externalId: 'acme', name: 'Acme', roles: ['member'] }] },
    { orgs: [{ id: ACME_ID, roles: [] }, { id: GLOBEX_ID, roles: [] }, { id: ACME_ID, externalId: 'acme', roles: [] }] },
    { orgs: [{ externalId: 'acme', name: 'Acme', roles: [] }, { externalId: 'ACME', name: 'Acme', roles: [] }] },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error org.duplicate_reference'], ['error org.duplicate_reference'], []],
  );
  assert.equal(envelopes[0].issues[0].field, 'orgs[1]');
  assert.equal(envelopes[1].issues[0].field, 'orgs[2]');
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: organization "acme" is listed twice for this user; list it once with all its roles');
});

test('warns with org.name_missing when an org known only by external id has no name to be created with', async () => {
  const envelopes = await validate(['orgs'], [
    { orgs: [{ externalId: 'acme', roles: ['admin'] }] },
    { orgs: [{ id: ACME_ID, externalId: 'acme', roles: [] }] },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['warning org.name_missing'], []],
  );
  assert.equal(
    envelopes[0].issues[0].message,
    'users.csv:2: organization "acme" has no name, so it cannot be created if WorkOS does not have it yet',
  );
});
