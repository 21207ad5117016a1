import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RateLimiter } from '../../../emulators/workos/rate-limit.ts';
import { API_KEY, rawRequest, sdkFor, startWithSdk } from './harness.ts';

test('admits a request once the oldest admission leaves the window, however many were refused meanwhile', () => {
  const limiter = new RateLimiter({ limit: 3, windowMs: 10_000 }, null);
  assert.deepEqual([0, 1, 2].map((t) => limiter.retryAfterSeconds('k', 'write', t)), [0, 0, 0]);
  assert.equal(limiter.retryAfterSeconds('k', 'write', 1000), 9);
  assert.equal(limiter.retryAfterSeconds('k', 'write', 9500), 1);
  assert.equal(limiter.retryAfterSeconds('k', 'write', 9999), 1);
  assert.equal(limiter.retryAfterSeconds('k', 'write', 10_000), 0);
  assert.equal(limiter.retryAfterSeconds('k', 'write', 10_000), 1);
  assert.equal(limiter.retryAfterSeconds('k', 'write', 10_001), 0);
  assert.equal(limiter.retryAfterSeconds('other key', 'write', 10_001), 0);
  assert.equal(limiter.retryAfterSeconds('k', 'read', 10_001), 0);
});

const { emulator, workos } = await startWithSdk({ writes: { limit: 5, windowMs: 1000 }, reads: { limit: 3, windowMs: 60_000 } });
after(() => emulator.close());

test('answers the sixth write within a 5/1s window with 429 and a Retry-After the SDK reads as a number', async () => {
  for (let i = 0; i < 5; i++) await workos.userManagement.createUser({ email: `w${i}@example.com` });
  await assert.rejects(workos.userManagement.createUser({ email: 'w5@example.com' }), {
    name: 'RateLimitExceededException',
    status: 429,
    message: 'Too many requests.',
    retryAfter: 1,
  });
  const raw = await rawRequest(emulator, 'POST', '/user_management/users', { body: '{"email":"raw@example.com"}', headers: { authorization: `Bearer ${API_KEY}` } });
  assert.deepEqual(raw, { status: 429, contentType: 'application/json', body: { message: 'Too many requests.', code: 'rate_limit_exceeded' } });
  assert.equal(emulator.store.users.size, 5);
  assert.deepEqual(emulator.requests.slice(-2).map(({ status, accepted }) => ({ status, accepted })), [
    { status: 429, accepted: false },
    { status: 429, accepted: false },
  ]);
});

test('counts reads apart from writes, and other API keys apart', async () => {
  const users = await workos.userManagement.listUsers();
  assert.equal(users.data.length, 5);
  await workos.userManagement.getUser(users.data[0]?.id as string);
  await workos.userManagement.listUsers({ email: 'w1@example.com' });
  await assert.rejects(workos.userManagement.listUsers(), { name: 'RateLimitExceededException', retryAfter: 60 });
  assert.equal((await sdkFor(emulator, 'sk_test_other').userManagement.listUsers()).data.length, 5);
});

test('does not limit /organizations, which only the general limit covers', async () => {
  for (let i = 0; i < 8; i++) await workos.organizations.createOrganization({ name: `Org ${i}` });
  assert.equal(emulator.store.organizations.size, 8);
});

test('admits writes again once the window has moved on', async () => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal((await workos.userManagement.createUser({ email: 'later@example.com' })).email, 'later@example.com');
});
