import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './cli.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-check-'));

test('check accepts the bundled Clerk pipeline and exits 0', async () => {
  const result = await runCli(['check', 'pipelines/clerk-to-ndjson.yaml']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '');
});

test('check prints every problem as file:line:col and exits 2', async () => {
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'version: 1\nname: broken\nsource: { use: cvs, path: x.csv }\nsink: { use: ndjson, pth: out.ndjson }\nretries: 3\n');
  const result = await runCli(['check', file]);
  assert.equal(result.code, 2);
  const lines = result.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((line) => line.replace(`${file}:`, 'broken.yaml:')),
    [
      'broken.yaml:3:16: unknown source "cvs" (did you mean "csv"?); known: csv, ndjson, json, ledger [pipeline.unknown_component]',
      'broken.yaml:4:22: sink "ndjson" has no option "pth" (did you mean "path"?) [pipeline.unknown_key]',
      'broken.yaml:5:1: unknown key "retries" [pipeline.unknown_key]',
    ],
  );
});

test('check takes the --set overrides run will get, so the command line can be checked as it will run', async () => {
  const missing = await runCli(['check', 'pipelines/clerk-to-ndjson.yaml', '--set', 'source.path=nowhere.csv']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /clerk-to-ndjson\.yaml:5:27: source "csv" option path: file not found: .*nowhere\.csv \(given by --set source\.path=\.\.\.\)/);
  const found = await runCli(['check', 'pipelines/clerk-to-ndjson.yaml', '--set', 'source.path=fixtures/clerk/users.csv']);
  assert.equal(found.code, 0, found.stderr);
});

test('run refuses a broken pipeline before reading a row, with exit 2', async () => {
  const file = path.join(dir, 'typo.yaml');
  writeFileSync(file, 'version: 1\nname: typo\nsource: { use: csv, path: nowhere.csv }\nsink: { use: ndjson }\n');
  const result = await runCli(['run', file]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /typo\.yaml:3:27: source "csv" option path: file not found: .*nowhere\.csv/);
  assert.equal(result.stdout, '');
});

test('check reads the mapping files a map stage joins, and fails where run would stop before its first row', async () => {
  writeFileSync(path.join(dir, 'orgs.csv'), 'user_id,org\nuser_1,acme\n');
  const file = path.join(dir, 'orgs.yaml');
  writeFileSync(file, 'version: 1\nname: orgs\nsource: { use: csv, path: users.csv }\nstages: [{ use: map, preset: clerk, orgs: orgs.csv }]\nsink: { use: ndjson }\n');
  writeFileSync(path.join(dir, 'users.csv'), 'id,primary_email_address\nuser_1,ana@example.com\n');
  const problem = 'orgs.csv:1: the header has no "org_external_id" column (expected user_id,org_external_id, then any others) [map.mapping_file_invalid]';
  const checked = await runCli(['check', file]);
  assert.equal(checked.code, 2);
  assert.equal(checked.stderr, `${file}:4:43: ${problem}\n`);
  const run = await runCli(['run', file]);
  assert.equal(run.code, 2);
  assert.equal(run.stderr, `authpipe: ${problem}\n`);
  assert.equal(run.stdout, '');
});

test('check reports a broken mapping file among the other problems of the pipeline file, and one in each mapping file', async () => {
  writeFileSync(path.join(dir, 'bad-orgs.csv'), 'user_id,org_external_id\nuser_1,\n');
  writeFileSync(path.join(dir, 'bad-roles.csv'), 'user_id,org_external_id,role_slug\nuser_1,acme,Admin\n');
  const file = path.join(dir, 'both.yaml');
  writeFileSync(
    file,
    'version: 1\nname: both\nsource: { use: csv, path: users.csv }\nstages:\n  - { use: map, preset: clerk, orgs: bad-orgs.csv, roles: bad-roles.csv }\n  - { use: validate, rulez: [email] }\nsink: { use: ndjson }\n',
  );
  writeFileSync(path.join(dir, 'users.csv'), 'id,primary_email_address\nuser_1,ana@example.com\n');
  const result = await runCli(['check', file]);
  assert.equal(result.code, 2);
  assert.deepEqual(result.stderr.trimEnd().split('\n'), [
    `${file}:5:38: bad-orgs.csv:2: org_external_id is empty [map.mapping_file_invalid]`,
    `${file}:5:59: bad-roles.csv:2: role "Admin" is not a role slug (lowercase letters, digits, - and _) [map.mapping_file_invalid]`,
    `${file}:6:22: stage "validate" has no option "rulez" (did you mean "rules"?) [pipeline.unknown_key]`,
  ]);
});

test('a map stage with a wrong option still has its mapping files read by check: every problem at once', async () => {
  writeFileSync(path.join(dir, 'bad-orgs.csv'), 'user_id,org_external_id\nuser_1,\n');
  const file = path.join(dir, 'typo-and-file.yaml');
  writeFileSync(file, 'version: 1\nname: t\nsource: { use: csv, path: users.csv }\nstages:\n  - { use: map, preset: clerk, orgs: bad-orgs.csv, fieldz: {} }\nsink: { use: ndjson }\n');
  writeFileSync(path.join(dir, 'users.csv'), 'id,primary_email_address\nuser_1,ana@example.com\n');
  const result = await runCli(['check', file]);
  assert.equal(result.code, 2);
  assert.deepEqual(result.stderr.trimEnd().split('\n'), [
    `${file}:5:38: bad-orgs.csv:2: org_external_id is empty [map.mapping_file_invalid]`,
    `${file}:5:52: stage "map" has no option "fieldz" (did you mean "fields"?) [pipeline.unknown_key]`,
  ]);
});

test('a missing pipeline file and an unknown verb are usage errors', async () => {
  assert.equal((await runCli(['run', path.join(dir, 'absent.yaml')])).code, 2);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('a WorkOS base URL without a scheme is a problem at its place for check, and a usage error naming WORKOS_API_URL for run', async () => {
  const file = path.join(dir, 'base-url.yaml');
  writeFileSync(file, 'version: 1\nname: b\nsource: { use: csv, path: x.csv }\nsink: { use: workos, baseUrl: "127.0.0.1:8787" }\n');
  writeFileSync(path.join(dir, 'x.csv'), 'email\na@example.com\n');
  const checked = await runCli(['check', file]);
  assert.equal(checked.code, 2);
  assert.equal(
    checked.stderr.replace(`${file}:`, 'base-url.yaml:'),
    'base-url.yaml:4:31: sink "workos" option baseUrl: invalid WorkOS base URL "127.0.0.1:8787": expected http(s)://host[:port], e.g. http://127.0.0.1:8787 [pipeline.invalid_option]\n',
  );
  const run = await runCli(['run', 'pipelines/clerk-to-workos.yaml', '--ledger', path.join(dir, 'never.db')], {
    env: { WORKOS_API_URL: '127.0.0.1:8787', WORKOS_API_KEY: 'sk_test_x' },
  });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^authpipe: WORKOS_API_URL: invalid WorkOS base URL "127\.0\.0\.1:8787"/m);
});

test('an emulator port that is not a port number is a usage error, exit 2', async () => {
  for (const port of ['abc', '99999']) {
    const result = await runCli(['emulator', '--port', port]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`^error: option '--port <n>' argument '${port}' is invalid\\. expected a port number from 0 to 65535$`, 'm'));
  }
});

test('a mapping file that is missing or a folder is one problem, not one from the file check and another from reading it', async () => {
  mkdirSync(path.join(dir, 'a-folder'), { recursive: true });
  const file = path.join(dir, 'unreadable.yaml');
  writeFileSync(file, 'version: 1\nname: unreadable\nsource: { use: csv, path: users.csv }\nstages: [{ use: map, orgs: a-folder, roles: absent.csv }]\nsink: { use: ndjson }\n');
  writeFileSync(path.join(dir, 'users.csv'), 'email\nana@example.com\n');
  const result = await runCli(['check', file]);
  assert.equal(result.code, 2);
  assert.deepEqual(
    result.stderr.trimEnd().split('\n').map((line) => line.replace(/^.*?: /, '').replace(/: \/.*(?= \[)/, '')),
    ['stage "map" option orgs: is a folder, not a file [pipeline.path_is_folder]', 'stage "map" option roles: file not found [pipeline.file_not_found]'],
  );
});

test('an input this user may not read and an output folder it may not write are problems check finds, exit 2, before a run would fail on them', async (t) => {
  const files = mkdtempSync(path.join(os.tmpdir(), 'authpipe-access-'));
  chmodSync(files, 0o755);
  writeFileSync(path.join(files, 'users.csv'), 'email\nana@example.com\n');
  chmodSync(path.join(files, 'users.csv'), 0o000);
  mkdirSync(path.join(files, 'read-only'), { mode: 0o555 });
  const file = path.join(files, 'access.yaml');
  writeFileSync(file, 'version: 1\nname: access\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: read-only/out.ndjson }\n');
  chmodSync(file, 0o644);
  // Root may read and write anything: the check is made as another user (nobody), once the CLI is built as root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot && (await runCli(['--help'])).code === 0 && (await runCli(['--help'], { uid: 65534 })).code !== 0) {
    t.skip('the checkout is in a folder closed to other users, so the check cannot be run as one');
    return;
  }
  const result = await runCli(['check', file], { cwd: files, uid: asRoot ? 65534 : undefined });
  assert.equal(result.code, 2, result.stderr);
  assert.deepEqual(result.stderr.trimEnd().split('\n'), [
    `${file}:3:27: source "csv" option path: not readable by this user: ${path.join(files, 'users.csv')} [pipeline.file_unreadable]`,
    `${file}:4:28: sink "ndjson" option path: folder not writable by this user: ${path.join(files, 'read-only')} [pipeline.folder_unwritable]`,
  ]);
});

test('a maxOutage under a second is refused at its place: a single 429 would stop the run', async () => {
  const file = path.join(dir, 'max-outage.yaml');
  writeFileSync(file, 'version: 1\nname: outage\nsource: { use: csv, path: users.csv }\nsink: { use: workos, apiKey: sk_test_x, maxOutage: 0 }\nledger: out.db\n');
  writeFileSync(path.join(dir, 'users.csv'), 'email\nana@example.com\n');
  const result = await runCli(['check', file]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /max-outage\.yaml:4:52: sink "workos" option maxOutage: Too small: expected number to be >=1000/);
});
