import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findings, validate } from './run.ts';

test('warns of control characters in a first or last name (a NUL, an escape sequence), showing them escaped', async () => {
  const envelopes = await validate(['names'], [{ firstName: 'B\u0000ob\u001b[31m', lastName: '\u0007Smith' }, { firstName: 'Ana María', lastName: "O'Brien-Łukasz" }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['warning name.control_characters', 'warning name.control_characters'], []],
  );
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: the first name holds control characters ("B\\u0000ob\\u001b[31m"); it is written as it is');
});
