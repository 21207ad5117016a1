import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import { rawEnvelope, type Envelope } from '../../pipelines/record.ts';
import { mapStage } from '../../stages/map.ts';
import { collect, contextIn, streamOf, tempDir } from '../sources/context.ts';

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
