import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOTP_SECRET_IN_LEDGER } from '../../../state/replay.ts';
import { findings, validate } from './run.ts';

test('accepts a Base32 TOTP secret, padded or not, one held back in the ledger, and no secret', async () => {
  const envelopes = await validate(['totp'], [{ totpSecret: 'JBSWY3DPEHPK3PXP' }, { totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DP====' }, { totpSecret: TOTP_SECRET_IN_LEDGER }, {}]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [[], [], [], []],
  );
});

test('rejects a TOTP secret that is not Base32 as totp.invalid, without repeating it', async () => {
  const secrets = ['not-base32!', 'jbswy3dpehpk3pxp', 'JBSWY3DP EHPK3PXP', 'JBSWY3DPEHPK3PX1', ''];
  const envelopes = await validate(['totp'], secrets.map((totpSecret) => ({ totpSecret })));
  for (const [index, envelope] of envelopes.entries()) {
    assert.deepEqual(findings(envelope), ['error totp.invalid'], secrets[index]);
    assert.equal(envelope.issues[0].message, `users.csv:${index + 2}: the TOTP secret is not Base32 (upper-case A-Z and 2-7), which WorkOS requires`);
  }
});
