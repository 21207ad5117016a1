import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startWithSdk } from './harness.ts';

const { emulator, workos } = await startWithSdk();
after(() => emulator.close());
const users = workos.userManagement;

test('enrolls a TOTP factor with a given Base32 secret in the shape the SDK reads', async () => {
  const user = await users.createUser({ email: 'totp@example.com' });
  const { authenticationFactor, authenticationChallenge } = await users.enrollAuthFactor({ userId: user.id, type: 'totp', totpSecret: 'JBSWY3DPEHPK3PXP', totpIssuer: 'Acme' });
  assert.match(authenticationFactor.id, /^auth_factor_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(authenticationFactor.object, 'authentication_factor');
  assert.equal(authenticationFactor.type, 'totp');
  assert.equal(authenticationFactor.userId, user.id);
  assert.deepEqual(authenticationFactor.totp, {
    issuer: 'Acme',
    user: 'totp@example.com',
    secret: 'JBSWY3DPEHPK3PXP',
    qrCode: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
    uri: 'otpauth://totp/Acme:totp%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme&algorithm=SHA1&digits=6&period=30',
  });
  assert.match(authenticationChallenge.id, /^auth_challenge_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(authenticationChallenge.authenticationFactorId, authenticationFactor.id);
  assert.equal(Date.parse(authenticationChallenge.expiresAt as string) - Date.parse(authenticationChallenge.createdAt), 600_000);
  assert.deepEqual(emulator.requests.at(-1)?.body, { type: 'totp', totp_issuer: 'Acme', totp_secret: 'JBSWY3DPEHPK3PXP' });
});

test('generates a 160-bit Base32 secret when none is given', async () => {
  const user = await users.createUser({ email: 'generated@example.com' });
  const { authenticationFactor } = await users.enrollAuthFactor({ userId: user.id, type: 'totp' });
  assert.match(authenticationFactor.totp.secret, /^[A-Z2-7]{32}$/);
  assert.equal(authenticationFactor.totp.issuer, 'WorkOS');
});

test('lists factors with issuer and user only, never the secret', async () => {
  const user = await users.createUser({ email: 'listed@example.com' });
  const { authenticationFactor } = await users.enrollAuthFactor({ userId: user.id, type: 'totp', totpSecret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' });
  const listed = await users.listAuthFactors({ userId: user.id });
  assert.deepEqual(listed.data, [
    { object: 'authentication_factor', id: authenticationFactor.id, createdAt: authenticationFactor.createdAt, updatedAt: authenticationFactor.updatedAt, type: 'totp', totp: { issuer: 'WorkOS', user: 'listed@example.com' }, userId: user.id },
  ]);
  assert.equal(emulator.store.authFactorsOfUser(user.id)[0]?.totp.secret, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
});

test('refuses a secret that is not Base32 and a user that does not exist', async () => {
  const user = await users.createUser({ email: 'bad-secret@example.com' });
  await assert.rejects(users.enrollAuthFactor({ userId: user.id, type: 'totp', totpSecret: 'not base32!' }), { name: 'UnprocessableEntityException', code: 'invalid_request_parameters' });
  await assert.rejects(users.enrollAuthFactor({ userId: 'user_01HZX3KQ4T8M2V6N0P5R7S9W1Y', type: 'totp' }), { name: 'NotFoundException', code: 'entity_not_found' });
  await assert.rejects(users.listAuthFactors({ userId: 'user_01HZX3KQ4T8M2V6N0P5R7S9W1Y' }), { name: 'NotFoundException', code: 'entity_not_found' });
  assert.deepEqual(emulator.store.authFactorsOfUser(user.id), []);
});
