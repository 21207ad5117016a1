import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SECRET_IN_LEDGER } from '../../../state/replay.ts';
import { findings, validate } from './run.ts';

test('accepts a Base32 TOTP secret, padded or not, in either case, with spaces as apps show it, one held back in the ledger, and no secret', async () => {
  const secrets = ['JBSWY3DPEHPK3PXP', 'JBSWY3DPEHPK3PXPJBSWY3DP====', 'jbswy3dpehpk3pxp', 'JBSW Y3DP EHPK 3PXP', SECRET_IN_LEDGER];
  const envelopes = await validate(['totp'], [...secrets.map((totpSecret) => ({ totpSecret })), {}]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], [], [], [], [], []],
  );
});

test('rejects a TOTP secret that is not Base32, or of a length no Base32 has, as totp.invalid, without repeating it', async () => {
  const secrets = ['not-base32!', 'JBSWY3DPEHPK3PX1', 'JBSWY3DPEHPK3PX8', '', 'A', 'ABC', 'JBSWY3DPEHPK3PXPJ', 'JBSWY3DPEHPK3PXPJBSWY3'];
  const envelopes = await validate(['totp'], secrets.map((totpSecret) => ({ totpSecret })));
  for (const [index, envelope] of envelopes.entries()) {
    assert.deepEqual(findings(envelope), ['error totp.invalid'], secrets[index]);
    assert.equal(envelope.issues[0].message, `users.csv:${index + 2}: the TOTP secret is not Base32 (A-Z and 2-7, of a length that decodes), which WorkOS requires`);
  }
});
