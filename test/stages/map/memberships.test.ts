import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AuthpipeError } from '../../../pipelines/errors.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { rawEnvelope, type Envelope } from '../../../pipelines/record.ts';
import { mapStage } from '../../../stages/map.ts';
import { collect, contextIn, streamOf, tempDir } from '../../sources/context.ts';

/** Writes each named file into one temp folder and returns the folder. */
function folderWith(files: Record<string, string | Buffer>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

async function mapIn(dir: string, options: Record<string, unknown>, records: Record<string, unknown>[]): Promise<Envelope[]> {
  const transform = await mapStage.create(mapStage.options.parse(options), contextIn(dir));
  return collect(transform(streamOf(records.map((raw, index) => rawEnvelope(index + 1, { file: 'users.csv', line: index + 2 }, raw)))));
}

const ORGS = ['user_id,org_external_id,org_name', 'u1,org_acme,"Acme, Inc."', 'u1,org_globex,Globex', 'u2,org_acme,"Acme, Inc."', ''].join('\n');
const ROLES = [
  'user_id,org_external_id,role_slug',
  'u1,org_acme,admin',
  'u1,org_acme,billing',
  'u1,org_globex,member',
  'u3,org_globex,viewer',
  '',
].join('\n');

test('joins several orgs and several roles per org onto the user whose external id matches user_id', async () => {
  const dir = folderWith({ 'org-mapping.csv': ORGS, 'role-mapping.csv': ROLES });
  const options = {
    fields: { externalId: 'id' },
    orgs: path.join(dir, 'org-mapping.csv'),
    roles: path.join(dir, 'role-mapping.csv'),
  };
  const [multi, plain, roleOnly, unmapped, anonymous] = await mapIn(dir, options, [{ id: 'u1' }, { id: 'u2' }, { id: 'u3' }, { id: 'u4' }, {}]);
  assert.deepEqual(multi.user.orgs, [
    { externalId: 'org_acme', name: 'Acme, Inc.', roles: ['admin', 'billing'] },
    { externalId: 'org_globex', name: 'Globex', roles: ['member'] },
  ]);
  assert.deepEqual(plain.user.orgs, [{ externalId: 'org_acme', name: 'Acme, Inc.', roles: [] }]);
  // A role makes the membership even when the org file has no line for it; the name comes from another user's line.
  assert.deepEqual(roleOnly.user.orgs, [{ externalId: 'org_globex', name: 'Globex', roles: ['viewer'] }]);
  assert.deepEqual(unmapped.user, { externalId: 'u4' });
  assert.deepEqual(anonymous.user, {});
});

test('joins the mapping files by Clerk user id under the clerk preset', async () => {
  const dir = folderWith({ 'org-mapping.csv': ORGS, 'role-mapping.csv': ROLES });
  const options = { preset: 'clerk', orgs: path.join(dir, 'org-mapping.csv'), roles: path.join(dir, 'role-mapping.csv') };
  const [envelope] = await mapIn(dir, options, [{ id: 'u2', primary_email_address: 'bo@example.com' }]);
  assert.deepEqual(envelope.user, {
    email: 'bo@example.com',
    emailVerified: false,
    externalId: 'u2',
    orgs: [{ externalId: 'org_acme', name: 'Acme, Inc.', roles: [] }],
  });
});

test('reads columns by header name in any order, ignores extra columns, and collapses repeated lines', async () => {
  const dir = folderWith({
    'roles.csv': 'role_slug,note,org_external_id,user_id\r\nadmin,first,org_acme,u1\r\nadmin,again,org_acme,u1\r\n\r\nmember,,org_acme,u1\r\n',
  });
  const [envelope] = await mapIn(dir, { fields: { externalId: 'id' }, roles: path.join(dir, 'roles.csv') }, [{ id: 'u1' }]);
  assert.deepEqual(envelope.user.orgs, [{ externalId: 'org_acme', roles: ['admin', 'member'] }]);
});

test('gives each record its own copy of the orgs, so changing one user never changes another', async () => {
  const dir = folderWith({ 'org-mapping.csv': ORGS });
  const [first, second] = await mapIn(dir, { fields: { externalId: 'id' }, orgs: path.join(dir, 'org-mapping.csv') }, [{ id: 'u1' }, { id: 'u1' }]);
  first.user.orgs?.[0].roles.push('owner');
  assert.deepEqual(second.user.orgs?.[0].roles, []);
});

async function loadError(name: string, content: string | Buffer, option: 'orgs' | 'roles'): Promise<AuthpipeError> {
  const dir = folderWith({ [name]: content });
  try {
    await mapStage.create(mapStage.options.parse({ [option]: path.join(dir, name) }), contextIn(dir));
  } catch (error) {
    assert.ok(error instanceof AuthpipeError);
    return error;
  }
  throw new Error('expected the mapping file to be refused');
}

test('refuses a mapping line with an empty required cell, naming file and line', async () => {
  const error = await loadError('org-mapping.csv', 'user_id,org_external_id,org_name\nu1,org_acme,Acme\n,org_acme,Acme\n', 'orgs');
  assert.equal(error.code, 'map.mapping_file_invalid');
  assert.equal(error.message, 'org-mapping.csv:3: user_id is empty');
});

test('refuses a role line without a role slug', async () => {
  const error = await loadError('role-mapping.csv', 'user_id,org_external_id,role_slug\nu1,org_acme,\n', 'roles');
  assert.equal(error.message, 'role-mapping.csv:2: role_slug is empty');
});

test('refuses a role line whose role is a display name, not a slug, naming the roles file and line', async () => {
  const error = await loadError('role-mapping.csv', 'user_id,org_external_id,role_slug\nu1,org_acme,admin\nu2,org_acme,Billing Admin\n', 'roles');
  assert.equal(error.code, 'map.mapping_file_invalid');
  assert.equal(error.message, 'role-mapping.csv:3: role "Billing Admin" is not a role slug (lowercase letters, digits, - and _)');
});

test('refuses a mapping line with the wrong number of cells', async () => {
  const error = await loadError('org-mapping.csv', 'user_id,org_external_id\nu1,org_acme\nu2,org_acme,Acme\n', 'orgs');
  assert.equal(error.code, 'map.mapping_file_invalid');
  assert.equal(error.message, 'org-mapping.csv:3: expected 2 cells (one per column), got 3');
});

test('refuses a mapping file whose header lacks a required column', async () => {
  const error = await loadError('role-mapping.csv', 'user_id,org,role_slug\nu1,org_acme,admin\n', 'roles');
  assert.equal(error.message, 'role-mapping.csv:1: the header has no "org_external_id" column (expected user_id,org_external_id,role_slug, then any others)');
});

test('refuses a mapping file with a quote left open, naming the line where it opens', async () => {
  const error = await loadError('org-mapping.csv', 'user_id,org_external_id\nu1,org_acme\nu2,"org_acme\n', 'orgs');
  assert.equal(error.code, 'map.mapping_file_invalid');
  assert.equal(error.message, 'org-mapping.csv:3: not valid CSV (CSV_QUOTE_NOT_CLOSED)');
});

test('refuses a mapping file saved in Latin-1 instead of UTF-8, naming the line', async () => {
  const error = await loadError('org-mapping.csv', Buffer.from('user_id,org_external_id,org_name\nu1,org_acme,Acme\nu2,org_soc,Soci\xe9t\xe9\n', 'latin1'), 'orgs');
  assert.equal(error.code, 'map.mapping_file_invalid');
  assert.equal(error.message, 'org-mapping.csv:3: has bytes that are not UTF-8; save the file as UTF-8');
});

test('refuses an empty mapping file', async () => {
  const error = await loadError('org-mapping.csv', '', 'orgs');
  assert.equal(error.message, 'org-mapping.csv:1: the file is empty; expected the header user_id,org_external_id,org_name');
});

test('refuses stdin as a mapping file when the options are read', () => {
  assert.equal(mapStage.options.safeParse({ orgs: '-' }).success, false);
  assert.equal(mapStage.options.safeParse({ roles: '-' }).success, false);
});

test('reads a mapping file Excel saved as UTF-16 ("Unicode text"), cells with spaces around them too', async () => {
  const text = ['user_id,org_external_id,org_name', 'u1,org_acme, Acme Corp', ' u1 ,org_globex,Globex', ''].join('\r\n');
  const dir = folderWith({ 'org-mapping.csv': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]) });
  const [user] = await mapIn(dir, { fields: { externalId: 'id' }, orgs: path.join(dir, 'org-mapping.csv') }, [{ id: 'u1' }]);
  assert.deepEqual(user.user.orgs, [
    { externalId: 'org_acme', name: 'Acme Corp', roles: [] },
    { externalId: 'org_globex', name: 'Globex', roles: [] },
  ]);
});

test('says which users of the mapping files no record had, by file and line, once the records are done', async () => {
  const dir = folderWith({ 'org-mapping.csv': ORGS, 'role-mapping.csv': ROLES });
  const log: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(log.push(line)) }) };
  const options = mapStage.options.parse({ fields: { externalId: 'id' }, orgs: path.join(dir, 'org-mapping.csv'), roles: path.join(dir, 'role-mapping.csv') });
  const transform = await mapStage.create(options, ctx);
  await collect(transform(streamOf([rawEnvelope(1, { file: 'users.csv', line: 2 }, { id: 'U1' }), rawEnvelope(2, { file: 'users.csv', line: 3 }, { id: 'u2' })])));
  assert.deepEqual(log, [
    `warning: map: 2 users of the mapping files matched no record's externalId (ids are compared exactly), so their memberships were not imported: org-mapping.csv:2 "u1", role-mapping.csv:5 "u3"\n`,
  ]);
});
