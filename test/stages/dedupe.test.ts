import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedResources, type Context } from '../../pipelines/component.ts';
import { createLogger } from '../../pipelines/log.ts';
import type { Envelope, OrgRef } from '../../pipelines/record.ts';
import { dedupeStage } from '../../stages/dedupe.ts';

const ctx: Context = { baseDir: '.', env: {}, log: createLogger({ quiet: true }), signal: new AbortController().signal, incomplete: new AbortController(), dryRun: false, live: false, shared: sharedResources().shared, runProgress: { written: 0, failed: 0 } };

function row(line: number, externalId: string, orgs: OrgRef[], firstName = 'Ana'): Envelope {
  return { seq: line - 1, key: `ext:${externalId}`, origin: { file: 'users.csv', line }, user: { email: `${externalId}@example.com`, externalId, firstName, orgs }, issues: [] };
}

async function dedupe(rows: Envelope[]): Promise<Envelope[]> {
  const transform = await dedupeStage.create(dedupeStage.options.parse({}), ctx);
  const out: Envelope[] = [];
  for await (const envelope of transform((async function* () { yield* rows; })())) out.push(envelope);
  return out;
}

test('merges adjacent rows of one user into one envelope with every organization and role', async () => {
  const out = await dedupe([
    row(2, 'crm-1', [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }]),
    row(3, 'crm-1', [{ externalId: 'globex', name: 'Globex', roles: ['member'] }]),
    row(4, 'crm-1', [{ externalId: 'acme', name: 'Acme', roles: ['billing', 'admin'] }]),
    row(5, 'crm-2', []),
  ]);
  assert.deepEqual(
    out.map((envelope) => [envelope.origin.line, envelope.user.orgs]),
    [
      [2, [{ externalId: 'acme', name: 'Acme', roles: ['admin', 'billing'] }, { externalId: 'globex', name: 'Globex', roles: ['member'] }]],
      [5, []],
    ],
  );
  assert.deepEqual(out[0].issues, []);
});

test('organization refs sharing an id but naming other external ids stay apart (a conflict for validate); one naming what the other leaves out is merged whole', async () => {
  const out = await dedupe([
    row(2, 'crm-1', [{ id: 'org_F', externalId: 'acme', roles: ['admin'] }]),
    row(3, 'crm-1', [{ id: 'org_F', externalId: 'globex', roles: ['member'] }]),
    row(4, 'crm-2', [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }]),
    row(5, 'crm-2', [{ id: 'org_F', externalId: 'acme', roles: ['billing'] }]),
  ]);
  assert.deepEqual(
    out.map((envelope) => envelope.user.orgs),
    [
      [
        { id: 'org_F', externalId: 'acme', roles: ['admin'] },
        { id: 'org_F', externalId: 'globex', roles: ['member'] },
      ],
      [{ externalId: 'acme', name: 'Acme', id: 'org_F', roles: ['admin', 'billing'] }],
    ],
  );
});

test('keeps the first row values and warns when a later row of the same user disagrees', async () => {
  const [merged] = await dedupe([row(2, 'crm-1', []), row(3, 'crm-1', [], 'Anna')]);
  assert.equal(merged.user.firstName, 'Ana');
  assert.deepEqual(merged.issues.map((issue) => [issue.code, issue.message]), [
    ['dedupe.conflicting_fields', "users.csv:3: same user as users.csv:2 with other firstName; the first row's values are kept"],
  ]);
});

test('leaves rows that are not adjacent, or that carry errors, to the validate stage', async () => {
  const invalid = row(3, 'crm-1', []);
  invalid.issues.push({ stage: 'csv', code: 'csv.ragged_row', level: 'error', message: 'users.csv:3: ragged' });
  const out = await dedupe([row(2, 'crm-1', []), invalid, row(4, 'crm-2', []), row(5, 'crm-1', [])]);
  assert.deepEqual(out.map((envelope) => envelope.origin.line), [2, 3, 4, 5]);
});

test('an invalid row among the rows of one user is left out without ending the group: the rows after it are merged, not duplicates', async () => {
  const invalid = row(3, 'crm-1', [{ externalId: 'globex', roles: [] }]);
  invalid.issues.push({ stage: 'map', code: 'field.invalid_boolean', level: 'error', message: 'users.csv:3: email_verified "maybe"' });
  const out = await dedupe([row(2, 'crm-1', [{ externalId: 'acme', roles: [] }]), invalid, row(4, 'crm-1', [{ externalId: 'initech', roles: [] }]), row(5, 'crm-2', [])]);
  assert.deepEqual(
    out.map((envelope) => [envelope.origin.line, envelope.user.orgs?.map((org) => org.externalId), envelope.issues.map((issue) => issue.code)]),
    [
      [2, ['acme', 'initech'], []],
      [3, ['globex'], ['field.invalid_boolean']],
      [5, [], []],
    ],
  );
});

test('two people sharing an external id are not merged: the later row is an identity conflict', async () => {
  const eve = row(3, 'crm-1', [{ externalId: 'globex', name: 'Globex', roles: ['admin'] }], 'Eve');
  eve.user.email = 'eve@example.com';
  const out = await dedupe([row(2, 'crm-1', [{ externalId: 'acme', name: 'Acme', roles: ['member'] }]), eve]);
  assert.deepEqual(
    out.map((envelope) => [envelope.user.firstName, envelope.user.orgs?.map((org) => org.externalId), envelope.issues.map((issue) => issue.code)]),
    [
      ['Ana', ['acme'], []],
      ['Eve', ['globex'], ['dedupe.identity_conflict']],
    ],
  );
  assert.equal(out[1].issues[0].message, 'users.csv:3: external id "crm-1" is also that of users.csv:2, which has another email; the rows are not merged');
});

test('rows of one user whose emails differ only in case are merged', async () => {
  const upper = row(3, 'crm-1', [{ externalId: 'globex', name: 'Globex', roles: ['admin'] }]);
  upper.user.email = 'CRM-1@Example.com';
  const out = await dedupe([row(2, 'crm-1', []), upper]);
  assert.deepEqual(out.map((envelope) => envelope.user.orgs?.map((org) => org.externalId)), [['globex']]);
});
