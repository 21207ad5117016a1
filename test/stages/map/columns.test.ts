import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../pipelines/log.ts';
import { rawEnvelope, type Envelope } from '../../../pipelines/record.ts';
import { mapStage } from '../../../stages/map.ts';
import { collect, contextIn, streamOf, tempDir } from '../../sources/context.ts';

async function mapWithLog(options: Record<string, unknown>, records: Record<string, unknown>[]): Promise<{ envelopes: Envelope[]; log: string[] }> {
  const log: string[] = [];
  const ctx = { ...contextIn(tempDir()), log: createLogger({ write: (line) => Boolean(log.push(line)) }) };
  const transform = await mapStage.create(mapStage.options.parse(options), ctx);
  const envelopes = records.map((raw, index) => rawEnvelope(index + 1, { file: 'users.csv', line: index + 2 }, raw));
  return { envelopes: await collect(transform(streamOf(envelopes))), log };
}

test('reads headers as people type them (case, spaces, hyphens) under the names a preset reads, and says so once', async () => {
  const rows = [
    { Email: 'ana@example.com', 'First Name': 'Ana', ' External-ID ': 'u1' },
    { Email: 'bo@example.com', 'First Name': 'Bo', ' External-ID ': 'u2' },
  ];
  const { envelopes, log } = await mapWithLog({ preset: 'workos-csv' }, rows);
  assert.deepEqual(
    envelopes.map((envelope) => envelope.user),
    [
      { email: 'ana@example.com', firstName: 'Ana', externalId: 'u1' },
      { email: 'bo@example.com', firstName: 'Bo', externalId: 'u2' },
    ],
  );
  assert.deepEqual(envelopes[0].raw, rows[0]);
  assert.deepEqual(log, ['map: columns read under plain names: "Email" as email, "First Name" as first_name, " External-ID " as external_id\n']);
});

test('reads a header with an invisible character pasted into it (a zero-width space, a direction mark) under its plain name, and the log shows the character', async () => {
  const { envelopes, log } = await mapWithLog({ preset: 'clerk' }, [{ '\u200bid': 'user_1', primary_email_address: 'ana@example.com', 'first_name\u200e': 'Ana' }]);
  assert.deepEqual([envelopes[0].user.externalId, envelopes[0].user.firstName], ['user_1', 'Ana']);
  assert.ok(log.includes('map: columns read under plain names: "<U+200B>id" as id, "first_name<U+200E>" as first_name\n'), log.join(''));
});

test('reads under plain names the keys a later record brings, as JSON exports leave absent keys out', async () => {
  const { envelopes, log } = await mapWithLog({ preset: 'workos-csv' }, [
    { email: 'a@example.com', externalId: 'u1' },
    { email: 'b@example.com', externalId: 'u2', firstName: 'Bea', emailVerified: true },
  ]);
  assert.deepEqual(envelopes[1].user, { email: 'b@example.com', externalId: 'u2', firstName: 'Bea', emailVerified: true });
  assert.deepEqual(log, ['map: columns read under plain names: "externalId" as external_id\n', 'map: columns read under plain names: "firstName" as first_name, "emailVerified" as email_verified\n']);
});

test('records that each bring keys of their own are all read under plain names, but only the first ten such records are listed in the log', async () => {
  const records = Array.from({ length: 40 }, (_, index) => ({ email: `u${index}@example.com`, [`customField${index}`]: 'x', firstName: 'Ana' }));
  const { envelopes, log } = await mapWithLog({ preset: 'workos-csv' }, records);
  assert.deepEqual(envelopes[39].user, { email: 'u39@example.com', firstName: 'Ana' });
  assert.equal(log.length, 11, log.join(''));
  assert.equal(log[10], 'map: later records bring more columns to read under plain names; they are read so, and not listed\n');
});

test('warns about a column named like one the preset reads, whose values would be left out on every row', async () => {
  const { envelopes, log } = await mapWithLog({ preset: 'workos-csv' }, [{ email: 'ana@example.com', first_name: 'Ana', lastname: 'Silva', phone: '+1555' }]);
  assert.deepEqual(envelopes[0].user, { email: 'ana@example.com', firstName: 'Ana' });
  assert.deepEqual(log, ['warning: map: the first record (users.csv:2) has no last_name column (did you mean "lastname"?), which the workos-csv preset reads: its values are left out\n']);
  // Read by the mapping, it is no misspelling.
  const mapped = await mapWithLog({ preset: 'workos-csv', fields: { lastName: 'lastname' } }, [{ email: 'ana@example.com', lastname: 'Silva' }]);
  assert.deepEqual([mapped.envelopes[0].user.lastName, mapped.log], ['Silva', []]);
});

test('prefers a column already named the plain way over one that only reads like it', async () => {
  const { envelopes } = await mapWithLog({ preset: 'workos-csv' }, [{ email: 'ana@example.com', Email: 'other@example.com' }]);
  assert.equal(envelopes[0].user.email, 'ana@example.com');
});

test('warns once when the first record lacks the columns every export of the preset has', async () => {
  const { log } = await mapWithLog({ preset: 'clerk' }, [
    { user: 'u1', mail: 'ana@example.com' },
    { user: 'u2', mail: 'bo@example.com' },
  ]);
  assert.deepEqual(log, [
    'warning: map: the first record (users.csv:2) has no id or primary_email_address column, which the clerk preset reads; its columns are "user", "mail"\n',
  ]);
});

test('reads camelCase headers (passwordDigest, totpSecret) under the names the preset reads', async () => {
  const bcrypt = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
  const { envelopes } = await mapWithLog({ preset: 'clerk' }, [
    { id: 'u1', primaryEmailAddress: 'ana@example.com', verifiedEmailAddresses: 'ana@example.com', passwordDigest: bcrypt, passwordHasher: 'bcrypt', totpSecret: 'JBSWY3DPEHPK3PXP' },
  ]);
  assert.deepEqual(envelopes[0].user, { email: 'ana@example.com', emailVerified: true, externalId: 'u1', totpSecret: 'JBSWY3DPEHPK3PXP', passwordHash: bcrypt, passwordHashType: 'bcrypt' });
});

test('warns once per column the preset reads that the export lacks, saying what no user gets without it', async () => {
  const { log } = await mapWithLog({ preset: 'clerk' }, [
    { id: 'u1', primary_email_address: 'ana@example.com', first_name: 'Ana', last_name: 'Lee', password_digst: 'x', password_hasher: 'bcrypt' },
    { id: 'u2', primary_email_address: 'bo@example.com', first_name: 'Bo', last_name: 'Ng', password_digst: 'x', password_hasher: 'bcrypt' },
  ]);
  assert.deepEqual(log, [
    'warning: map: the first record (users.csv:2) has no verified_email_addresses column, which the clerk preset reads: every email is imported as not verified\n',
    'warning: map: the first record (users.csv:2) has no password_digest column (did you mean "password_digst"?), which the clerk preset reads: no user gets their password hash, so every user must reset their password\n',
    'warning: map: the first record (users.csv:2) has no totp_secret column, which the clerk preset reads: no TOTP factor is imported\n',
  ]);
});

test('warns once per field the mapping reads that the first record lacks, naming the option and the fields there are', async () => {
  const rows = [{ 'Email Address': 'ana@example.com', 'Full Name': 'Ana Lee', Plan: 'pro' }];
  const { envelopes, log } = await mapWithLog({ fields: { email: 'Email' }, fullName: { from: 'Full Name' }, metadata: ['plna'] }, rows);
  assert.deepEqual(envelopes[0].user, { firstName: 'Ana', lastName: 'Lee' });
  assert.deepEqual(log, [
    'map: columns read under plain names: "Email Address" as email_address, "Full Name" as full_name, "Plan" as plan\n',
    'warning: map: the first record (users.csv:2) has no field "Email", which fields.email reads; its fields are "Email Address", "Full Name", "Plan"\n',
    'warning: map: the first record (users.csv:2) has no field "plna" (did you mean "Plan"?), which metadata reads; its fields are "Email Address", "Full Name", "Plan"\n',
  ]);
});
