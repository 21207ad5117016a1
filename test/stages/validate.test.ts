import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import type { Envelope, UserDraft } from '../../pipelines/record.ts';
import { validateStage } from '../../stages/validate.ts';
import { collect, contextIn, streamOf, tempDir } from '../sources/context.ts';
import { envelopeOf, findings, validate, validator } from './validate/run.ts';

/** One user that breaks every rule once. */
const BROKEN_EVERYWHERE: UserDraft = {
  email: 'ana@@example.com',
  passwordHash: 'd41d8cd98f00b204e9800998ecf8427e',
  passwordHashType: 'bcrypt',
  totpSecret: 'not-base32',
  metadata: { plan: 'é' },
  orgs: [{ id: 'acme', roles: ['admin'] }],
};

test('applies every rule by default, in a fixed order that ends with duplicates', async () => {
  assert.deepEqual(validateStage.options.parse({}), { rules: ['email', 'names', 'hash', 'totp', 'metadata-limits', 'orgs', 'duplicates'] });
  const transform = await validator(['email', 'duplicates', 'hash', 'metadata-limits', 'totp', 'orgs']);
  const envelopes = await collect(transform(streamOf([envelopeOf(BROKEN_EVERYWHERE), envelopeOf({ email: 'bo@example.com' }, 3), envelopeOf({ email: 'BO@example.com' }, 4)])));
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error email.invalid', 'error hash.format_mismatch', 'error totp.invalid', 'error metadata.value_invalid', 'error org.id_invalid'], [], ['error email.duplicate']],
  );
});

test('applies only the rules it is given, whatever order they are listed in', async () => {
  const [envelope] = await validate(['orgs', 'hash'], [BROKEN_EVERYWHERE]);
  assert.deepEqual(findings(envelope), ['error hash.format_mismatch', 'error org.id_invalid']);
});

test('rejects an unknown rule name, listing the known ones, and an empty list', () => {
  const unknown = validateStage.options.safeParse({ rules: ['email', 'dupes'] });
  assert.equal(unknown.success, false);
  assert.deepEqual(unknown.error?.issues[0].path, ['rules', 1]);
  assert.equal(unknown.error?.issues[0].message, 'Invalid option: expected one of "email"|"names"|"hash"|"totp"|"metadata-limits"|"orgs"|"duplicates"');
  const empty = validateStage.options.safeParse({ rules: [] });
  assert.equal(empty.error?.issues[0].message, 'name at least one rule, or leave the validate stage out');
});

test('passes a row an earlier stage rejected through untouched', async () => {
  const rejected: Envelope = envelopeOf({ email: 'not an address' }, 2, [
    { stage: 'map', code: 'field.invalid_type', level: 'error', message: 'users.csv:2: email holds an object or a list, not text', field: 'email' },
  ]);
  const before = structuredClone(rejected);
  const [envelope] = await collect((await validator(['email', 'duplicates']))(streamOf([rejected])));
  assert.equal(envelope, rejected);
  assert.deepEqual(envelope, before);
});

test('a row exported for fixing is checked afresh, but keeps what validate cannot check again: what stages before it found, and duplicates', async () => {
  const mark = { stage: 'replay', code: 'replay.not_validated', level: 'warning', message: 'exported for fixing' } as const;
  const emailError = { stage: 'validate', code: 'email.invalid', level: 'error', message: 'users.csv:2: bad email' } as const;
  const workosAnswer = { stage: 'workos', code: 'workos.email_not_available', level: 'warning', message: 'permanent: taken' } as const;
  // The email fixed by hand: validate's own finding and WorkOS's old answer go, and the row passes.
  const fixed = envelopeOf({ email: 'ana@example.com' }, 2, [emailError, workosAnswer, mark]);
  // Two people under one external id, or a value map could not read: still so, as far as validate can tell.
  const conflict = envelopeOf({ email: 'bob@example.com', externalId: 'user_1' }, 3, [
    { stage: 'dedupe', code: 'dedupe.identity_conflict', level: 'error', message: 'users.csv:3: user_1 is also ana@example.com' },
    emailError,
    mark,
  ]);
  // A duplicate of a row that is not in the stream: validate could not tell it again.
  const duplicate = envelopeOf({ email: 'cy@example.com', firstName: 'Cy Other' }, 4, [
    { stage: 'validate', code: 'email.duplicate', level: 'error', message: 'users.csv:4: cy@example.com already appears at users.csv:9' },
    mark,
  ]);
  const said: string[] = [];
  const ctx = { ...contextIn(tempDir()), log: createLogger({ write: (line) => Boolean(said.push(line)) }) };
  const [afterFix, afterConflict, afterDuplicate] = await collect((await validator(['email', 'duplicates'], ctx))(streamOf([fixed, conflict, duplicate])));
  assert.deepEqual(findings(afterFix), []);
  assert.deepEqual(findings(afterConflict), ['error dedupe.identity_conflict']);
  assert.deepEqual(findings(afterDuplicate), ['error email.duplicate']);
  // Nothing else would tell the person why a row they fixed is still kept out.
  assert.deepEqual(said, [
    'warning: validate: 2 rows exported for fixing still hold an error validate cannot check again (of a stage before it, or a duplicate): once a row is fixed, remove that issue from its "issues" too\n',
  ]);
});

test('checks a row that carries only warnings from earlier stages, keeping those warnings', async () => {
  const warned = envelopeOf({ email: 'a@b' }, 2, [{ stage: 'map', code: 'metadata.dropped', level: 'warning', message: 'users.csv:2: metadata "x" is left out' }]);
  const [envelope] = await collect((await validator(['email']))(streamOf([warned])));
  assert.deepEqual(findings(envelope), ['warning metadata.dropped', 'error email.invalid']);
});

test('lets rejected and warned rows flow on in order, each finding marked with the validate stage', async () => {
  const envelopes = await validate(['email'], [{ email: 'a@b' }, { email: 'ana@example.com' }, { email: 'josé@example.com' }, {}]);
  assert.deepEqual(
    envelopes.map((envelope) => envelope.seq),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    envelopes.flatMap((envelope) => envelope.issues.map((issue) => [issue.stage, issue.level, issue.field])),
    [
      ['validate', 'error', 'email'],
      ['validate', 'warning', 'email'],
      ['validate', 'error', 'email'],
    ],
  );
});
