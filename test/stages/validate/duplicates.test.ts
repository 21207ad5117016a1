import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Context } from '../../../pipelines/component.ts';
import type { Envelope } from '../../../pipelines/record.ts';
import { collect, contextIn, streamOf, tempDir } from '../../sources/context.ts';
import { envelopeOf, findings, validate, validator } from './run.ts';

/** A context whose TMPDIR is a fresh folder of its own, so a test can watch the index file come and go. */
function contextWithOwnTmpdir(): { ctx: Context; tmpdir: string } {
  const tmpdir = mkdtempSync(path.join(tempDir(), 'tmp-'));
  return { ctx: { ...contextIn(tmpdir), env: { TMPDIR: tmpdir } }, tmpdir };
}

test('rejects the second and third row with one email in other cases, naming where it first appeared', async () => {
  const envelopes = await validate(['duplicates'], [{ email: 'ana@example.com' }, { email: 'Ana@Example.com' }, { email: 'bo@example.com' }, { email: 'ANA@EXAMPLE.COM' }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], ['error email.duplicate'], [], ['error email.duplicate']],
  );
  assert.equal(envelopes[1].issues[0].message, 'users.csv:3: ana@example.com already appears at users.csv:2');
  assert.equal(envelopes[3].issues[0].message, 'users.csv:5: ana@example.com already appears at users.csv:2');
  assert.equal(envelopes[1].issues[0].field, 'email');
});

test('a duplicate row is known by its position, so the ledger records it apart from the row that holds its key', async () => {
  const envelopes = await validate(['duplicates'], [
    { email: 'ana@example.com', externalId: 'user_1' },
    { email: 'other@example.com', externalId: 'user_1' },
    { email: 'ANA@example.com' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => envelope.key),
    ['ext:user_1', 'seq:2', 'seq:3'],
  );
});

test('says that the memberships of a later row of the same user are not imported, and how to keep them', async () => {
  const envelopes = await validate(['duplicates'], [
    { email: 'ana@example.com', orgs: [{ externalId: 'acme', roles: [] }] },
    { email: 'bo@example.com' },
    { email: 'ana@example.com', orgs: [{ externalId: 'globex', roles: ['admin'] }] },
  ]);
  assert.equal(
    envelopes[2].issues[0].message,
    "users.csv:4: ana@example.com already appears at users.csv:2; this row's memberships (globex) are not imported: sort the file so a user's rows are adjacent and add the dedupe stage, which joins them",
  );
});

test('rejects one mailbox spelt with a composed or decomposed accent, or with its punycode domain', async () => {
  const envelopes = await validate(['duplicates'], [
    { email: 'zoe@ex\u00e4mple.com' },
    { email: 'zoe@exa\u0308mple.com' },
    { email: 'zoe@xn--exmple-cua.com' },
    { email: 'Zo\u00eb@example.com' },
    { email: 'zoe\u0308@example.com' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], ['error email.duplicate'], ['error email.duplicate'], [], ['error email.duplicate']],
  );
});

test('rejects a repeated external id as external_id.duplicate, matching it exactly', async () => {
  const envelopes = await validate(['duplicates'], [
    { email: 'ana@example.com', externalId: 'user_1' },
    { email: 'bo@example.com', externalId: 'USER_1' },
    { email: 'cy@example.com', externalId: 'user_1' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], [], ['error external_id.duplicate']],
  );
  assert.equal(envelopes[2].issues[0].message, 'users.csv:4: external id "user_1" already appears at users.csv:2');
  assert.equal(envelopes[2].issues[0].field, 'externalId');
});

test('a row refused for one value leaves its other value free for a later row', async () => {
  const envelopes = await validate(['duplicates'], [
    { email: 'ana@example.com', externalId: 'user_1' },
    { email: 'ana@example.com', externalId: 'user_2' },
    { email: 'bo@example.com', externalId: 'user_2' },
    { email: 'bo@example.com', externalId: 'user_1' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], ['error email.duplicate'], [], ['error email.duplicate', 'error external_id.duplicate']],
  );
});

test('rows with errors, from an earlier stage or from another rule, claim no email', async () => {
  const transform = await validator(['metadata-limits', 'duplicates']);
  const sourceError = { stage: 'csv', code: 'csv.ragged_row', level: 'error' as const, message: 'users.csv:2: expected 3 cells, got 4' };
  const envelopes = await collect(
    transform(
      streamOf([
        envelopeOf({ email: 'ana@example.com' }, 2, [sourceError]),
        envelopeOf({ email: 'ana@example.com', externalId: 'x'.repeat(65) }, 3),
        envelopeOf({ email: 'Ana@example.com' }, 4),
        envelopeOf({ email: 'ana@example.com' }, 5),
      ]),
    ),
  );
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error csv.ragged_row'], ['error external_id.invalid'], [], ['error email.duplicate']],
  );
  assert.equal(envelopes[3].issues[0].message, 'users.csv:5: ana@example.com already appears at users.csv:4');
});

test('removes its index file when the stream ends', async () => {
  const { ctx, tmpdir } = contextWithOwnTmpdir();
  const transform = await validator(['duplicates'], ctx);
  let filesWhileRunning: string[] = [];
  for await (const envelope of transform(streamOf([envelopeOf({ email: 'ana@example.com' }), envelopeOf({ email: 'bo@example.com' }, 3)]))) {
    if (envelope.seq === 2) filesWhileRunning = readdirSync(tmpdir);
  }
  assert.equal(filesWhileRunning.length, 1);
  assert.match(filesWhileRunning[0], /^authpipe-duplicates-/);
  assert.deepEqual(readdirSync(tmpdir), []);
});

test('removes its index file when the consumer stops early', async () => {
  const { ctx, tmpdir } = contextWithOwnTmpdir();
  const transform = await validator(['duplicates'], ctx);
  const rows = streamOf([1, 2, 3, 4].map((index) => envelopeOf({ email: `user${index}@example.com` }, index + 1)));
  for await (const envelope of transform(rows)) {
    assert.equal(readdirSync(tmpdir).length, 1);
    if (envelope.seq === 2) break;
  }
  assert.deepEqual(readdirSync(tmpdir), []);
});

test('creates nothing for a stream that is never read', async () => {
  const { ctx, tmpdir } = contextWithOwnTmpdir();
  const transform = await validator(['duplicates'], ctx);
  transform(streamOf([envelopeOf({ email: 'ana@example.com' })]));
  assert.deepEqual(readdirSync(tmpdir), []);
});

test('stops with validate.index_unavailable when the temp folder cannot hold the index', async () => {
  const missing = path.join(tempDir(), 'no-such-folder');
  const transform = await validator(['duplicates'], { ...contextIn(tempDir()), env: { TMPDIR: missing } });
  await assert.rejects(collect(transform(streamOf([envelopeOf({ email: 'ana@example.com' })]))), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'validate.index_unavailable');
    assert.match(error.message, new RegExp(`^cannot create the duplicate index in ${missing}: ENOENT`));
    return true;
  });
});

const ROWS = 200_000;

/** Row i repeats, in upper case, the email of row i - 500 every 1000 rows, and the external id of row i - 1 every 5000. */
async function* generatedRows(): AsyncGenerator<Envelope> {
  for (let index = 0; index < ROWS; index++) {
    const emailOf = index % 1000 === 999 ? index - 500 : index;
    const externalIdOf = index % 5000 === 4998 ? index - 1 : index;
    const email = `person${emailOf}@example.com`;
    yield envelopeOf({ email: emailOf === index ? email : email.toUpperCase(), externalId: `user_${externalIdOf}` }, index + 2);
  }
}

test('finds exactly the planted duplicates among 200,000 streamed rows', async () => {
  const transform = await validator(['duplicates']);
  const counts = new Map<string, number>();
  let rows = 0;
  let sample = '';
  for await (const envelope of transform(generatedRows())) {
    rows++;
    for (const issue of envelope.issues) counts.set(issue.code, (counts.get(issue.code) ?? 0) + 1);
    if (envelope.seq === 1000) sample = envelope.issues[0].message;
  }
  assert.equal(rows, ROWS);
  assert.deepEqual(Object.fromEntries(counts), { 'email.duplicate': ROWS / 1000, 'external_id.duplicate': ROWS / 5000 });
  assert.equal(sample, 'users.csv:1001: person499@example.com already appears at users.csv:501');
});
