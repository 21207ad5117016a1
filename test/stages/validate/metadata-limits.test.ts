import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findings, validate } from './run.ts';

function entries(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`key${index}`, `value ${index}`]));
}

test('accepts metadata and external ids right at the WorkOS limits', async () => {
  const envelopes = await validate(['metadata-limits'], [
    { metadata: entries(10), externalId: 'x'.repeat(64) },
    { metadata: { ['k'.repeat(40)]: 'v'.repeat(600) }, externalId: 'user_2abc' },
    { metadata: {}, firstName: 'no external id' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], [], []],
  );
});

test('rejects more than 10 metadata entries as metadata.too_many_entries', async () => {
  const [envelope] = await validate(['metadata-limits'], [{ metadata: entries(11) }]);
  assert.deepEqual(findings(envelope), ['error metadata.too_many_entries']);
  assert.equal(envelope.issues[0].message, 'users.csv:2: metadata has 11 entries; WorkOS keeps at most 10');
  assert.equal(envelope.issues[0].field, 'metadata');
});

test('rejects a metadata key that is empty, longer than 40 characters or not ASCII', async () => {
  const envelopes = await validate(['metadata-limits'], [
    { metadata: { ['k'.repeat(41)]: 'v' } },
    { metadata: { plän: 'v' } },
    { metadata: { '': 'v' } },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error metadata.key_invalid'], ['error metadata.key_invalid'], ['error metadata.key_invalid']],
  );
  assert.equal(envelopes[0].issues[0].message, `users.csv:2: metadata key "${'k'.repeat(40)}…" is not 1 to 40 ASCII characters`);
  assert.equal(envelopes[1].issues[0].message, 'users.csv:3: metadata key "plän" is not 1 to 40 ASCII characters');
});

test('rejects a metadata value that is too long, not ASCII or not a string, naming the key but not the value', async () => {
  const envelopes = await validate(['metadata-limits'], [
    { metadata: { plan: 'v'.repeat(601) } },
    { metadata: { city: 'São Paulo' } },
    { metadata: { seats: 12 as never, tags: ['a'] as never } },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error metadata.value_invalid'], ['error metadata.value_invalid'], ['error metadata.value_invalid', 'error metadata.value_invalid']],
  );
  assert.deepEqual(
    envelopes.flatMap((envelope) => envelope.issues.map((issue) => issue.message)),
    [
      'users.csv:2: metadata "plan" is not at most 600 ASCII characters',
      'users.csv:3: metadata "city" is not at most 600 ASCII characters',
      'users.csv:4: metadata "seats" holds number, not a string',
      'users.csv:4: metadata "tags" holds object, not a string',
    ],
  );
});

test('rejects an external id that is empty, longer than 64 characters or not ASCII as external_id.invalid', async () => {
  const envelopes = await validate(['metadata-limits'], [{ externalId: 'x'.repeat(65) }, { externalId: 'usér-1' }, { externalId: '' }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error external_id.invalid'], ['error external_id.invalid'], ['error external_id.invalid']],
  );
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: the external id is not 1 to 64 ASCII characters');
  assert.equal(envelopes[0].issues[0].field, 'externalId');
});

test('rejects an external id a spreadsheet rewrote in scientific notation, in either decimal mark, and keeps plain numeric ids', async () => {
  const envelopes = await validate(['metadata-limits'], [{ externalId: '1.23457E+17' }, { externalId: '1,23E+17' }, { externalId: '123456789012345678' }, { externalId: 'E+17' }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error external_id.mangled'], ['error external_id.mangled'], [], []],
  );
  assert.match(envelopes[0].issues[0].message, /^users\.csv:2: the external id 1\.23457E\+17 is a long numeric id written as a floating-point number/);
});

test('rejects a long numeric id a float column wrote (pandas: 1.2345678901234567e18, 12345678901234567890.0), and keeps ids such as 12e4', async () => {
  const ids = ['1.2345678901234567e18', '12345678901234567890.0', '12e4', '4.0', 'a1e20'];
  const envelopes = await validate(['metadata-limits'], ids.map((externalId) => ({ externalId })));
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error external_id.mangled'], ['error external_id.mangled'], [], [], []],
  );
});
