import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findings, validate } from './run.ts';

const VALID = [
  'a@b.co',
  'user+tag@sub.example.co.uk',
  '-a@x.com',
  "o'brien@example.ie",
  "!#$%&'*+/=?^_`{|}~-@example.com",
  'first.last@example.com',
  '"john doe"@x.com',
  '"a@b"@x.com',
  '"quote\\"inside"@x.com',
  'a@x-y.example.com',
  'a@1example.com',
  'a@example.xn--p1ai',
  `${'x'.repeat(64)}@x.com`,
  `${'x'.repeat(60)}@${'y.'.repeat(95)}com`,
];

const INVALID = [
  'a@b',
  'a..b@x.com',
  '.a@x.com',
  'a.@x.com',
  'bob@@example..com',
  'a@-x.com',
  'a@x-.com',
  'a@x.c',
  'a@x.123',
  'a@x..com',
  'a@x.com.',
  'a@x_y.com',
  'a@[192.168.0.1]',
  `${'x'.repeat(65)}@x.com`,
  `a@${'x'.repeat(64)}.com`,
  `${'x'.repeat(60)}@${'y.'.repeat(96)}com`,
  'plainaddress',
  '@x.com',
  'a@',
  'a b@x.com',
  ' a@x.com',
  'a@x.com ',
  'a@ex ample.com',
  '"a\tb"@x.com',
  '"unclosed@x.com',
  'a,b@x.com',
  'a(b)@x.com',
];

test('accepts addresses in the dot-atom or quoted form with a host name domain', async () => {
  const envelopes = await validate(['email'], VALID.map((email) => ({ email })));
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    VALID.map(() => []),
  );
});

test('rejects each malformed address as email.invalid on the email field', async () => {
  const envelopes = await validate(['email'], INVALID.map((email) => ({ email })));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.user.email, findings(envelope)]),
    INVALID.map((email) => [email, ['error email.invalid']]),
  );
  assert.ok(envelopes.every((envelope) => envelope.issues[0].field === 'email' && envelope.issues[0].stage === 'validate'));
});

test('says which part of an address is wrong, after the row it came from', async () => {
  const [doubleDot, noTld, longLocal, spaced, noAt] = await validate(['email'], [
    { email: 'a..b@x.com' },
    { email: 'a@b' },
    { email: `${'x'.repeat(65)}@x.com` },
    { email: 'a b@x.com' },
    { email: 'ana.example.com' },
  ]);
  assert.equal(
    doubleDot.issues[0].message,
    'users.csv:2: email "a..b@x.com" is not a valid address: the part before the @ starts or ends with a dot, or has two dots in a row',
  );
  assert.equal(
    noTld.issues[0].message,
    'users.csv:3: email "a@b" is not a valid address: the domain is not a host name (labels of letters, digits and inner hyphens, joined by dots, ending in a top-level domain of 2+ letters)',
  );
  assert.match(longLocal.issues[0].message, /: more than 64 characters come before the @$/);
  assert.match(spaced.issues[0].message, /: the part before the @ has whitespace \(only spaces inside a quoted part are allowed\)$/);
  assert.match(noAt.issues[0].message, /: it has no @$/);
});

test('accepts internationalized addresses with an email.unicode warning', async () => {
  const envelopes = await validate(['email'], [{ email: 'josé@exämple.de' }, { email: '用户@例子.广告' }, { email: 'ana@пример.рф' }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['warning email.unicode'], ['warning email.unicode'], ['warning email.unicode']],
  );
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: email "josé@exämple.de" has non-ASCII characters, which WorkOS may not accept');
});

test('rejects a user without an email as email.missing', async () => {
  const envelopes = await validate(['email'], [{ firstName: 'Ana' }, { email: '' }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error email.missing'], ['error email.missing']],
  );
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: the user has no email address; WorkOS needs one for every user');
});
