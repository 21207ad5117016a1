import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseFaultSpec } from '../../../emulators/workos/faults.ts';
import { startWorkosEmulator } from '../../../emulators/workos/server.ts';
import { API_KEY, sdkFor, startWithSdk } from './harness.ts';

test('parses every item of the fault grammar', () => {
  assert.deepEqual(parseFaultSpec('status=503:0.05, latency=20-80,drop=0.01,storm=429x40:retry=2,legacy-409,storm=429x2:retry=0:page'), [
    { kind: 'share', action: { kind: 'status', status: 503 }, share: 0.05 },
    { kind: 'latency', minMs: 20, maxMs: 80 },
    { kind: 'share', action: { kind: 'drop', afterApplying: false }, share: 0.01 },
    { kind: 'next', action: { kind: 'storm', retryAfter: { format: 'seconds', seconds: 2 }, page: false }, count: 40 },
    { kind: 'legacy-409' },
    { kind: 'next', action: { kind: 'storm', retryAfter: { format: 'seconds', seconds: 0 }, page: true }, count: 2 },
  ]);
  assert.deepEqual(parseFaultSpec('status=502x3,drop-after=x1,latency=15,storm=429x2:retry=date+30,storm=429x1:retry=none,storm=429x1'), [
    { kind: 'next', action: { kind: 'status', status: 502 }, count: 3 },
    { kind: 'next', action: { kind: 'drop', afterApplying: true }, count: 1 },
    { kind: 'latency', minMs: 15, maxMs: 15 },
    { kind: 'next', action: { kind: 'storm', retryAfter: { format: 'http-date', seconds: 30 }, page: false }, count: 2 },
    { kind: 'next', action: { kind: 'storm', retryAfter: { format: 'none' }, page: false }, count: 1 },
    { kind: 'next', action: { kind: 'storm', retryAfter: { format: 'seconds', seconds: 1 }, page: false }, count: 1 },
  ]);
  assert.deepEqual(parseFaultSpec('status=500:1:writes,status=503x2:writes'), [
    { kind: 'share', action: { kind: 'status', status: 500 }, share: 1, writesOnly: true },
    { kind: 'next', action: { kind: 'status', status: 503 }, count: 2, writesOnly: true },
  ]);
});

test('rejects a malformed fault item with code faults.invalid naming the item', () => {
  const cases: [string, string][] = [
    ['status=200x1', 'invalid fault "status=200x1": expected status=CODE:SHARE or status=CODExN with CODE in 400-599, then :writes if wanted'],
    ['status=503:1.5', 'invalid fault "status=503:1.5": expected a share such as 0.05 or a count such as x3'],
    ['drop=0', 'invalid fault "drop=0": expected a share such as 0.05 or a count such as x3'],
    ['latency=80-20', 'invalid fault "latency=80-20": expected latency=MS or latency=MIN-MAX in milliseconds'],
    ['storm=503x2', 'invalid fault "storm=503x2": expected storm=429xN, with :retry=R and :page if wanted'],
    ['storm=429x2:retry=soon', 'invalid fault "storm=429x2:retry=soon": expected retry=SECONDS, retry=date, retry=date+SECONDS or retry=none'],
    ['chaos', 'invalid fault "chaos": expected one of status=, latency=, drop=, drop-after=, storm=, legacy-409'],
  ];
  for (const [spec, message] of cases) assert.throws(() => parseFaultSpec(spec), { code: 'faults.invalid', message });
});

const { emulator, workos } = await startWithSdk({ writes: null, reads: null });
after(() => emulator.close());
const users = workos.userManagement;

test('answers the next N requests with a forced status before they take effect', async () => {
  emulator.faults.apply('status=503x2');
  for (const email of ['f1@example.com', 'f2@example.com']) {
    await assert.rejects(users.createUser({ email }), { name: 'GenericServerException', status: 503, rawData: { message: 'Service Unavailable (injected fault).', code: 'injected_fault' } });
  }
  assert.equal(emulator.store.userByEmail('f1@example.com'), undefined);
  assert.equal((await users.createUser({ email: 'f1@example.com' })).email, 'f1@example.com');
  assert.deepEqual(emulator.requests.slice(-3).map(({ status, accepted, dropped }) => ({ status, accepted, dropped })), [
    { status: 503, accepted: false, dropped: false },
    { status: 503, accepted: false, dropped: false },
    { status: 201, accepted: true, dropped: false },
  ]);
});

test('a status fault for writes only fails creates and answers lookups, which do not use up its count', async () => {
  emulator.faults.apply('status=500x1:writes');
  assert.ok(Array.isArray((await users.listUsers({ limit: 1 })).data));
  await assert.rejects(users.createUser({ email: 'writes-only@example.com' }), { status: 500 });
  assert.equal((await users.createUser({ email: 'writes-only@example.com' })).email, 'writes-only@example.com');
});

test('drops the connection before the write with drop, and after applying it with drop-after', async () => {
  emulator.faults.apply('drop=x1');
  await assert.rejects(users.createUser({ email: 'lost@example.com' }), (error: Error) => error.message.startsWith('Unexpected error: TypeError: fetch failed'));
  assert.equal(emulator.store.userByEmail('lost@example.com'), undefined);
  const lost = emulator.requests.at(-1);
  assert.deepEqual([lost?.status, lost?.accepted, lost?.dropped, lost?.body], [null, false, true, { email: 'lost@example.com' }]);

  emulator.faults.apply('drop-after=x1');
  await assert.rejects(users.createUser({ email: 'landed@example.com', externalId: 'landed' }), (error: Error) => error.message.startsWith('Unexpected error: TypeError: fetch failed'));
  const landed = emulator.store.userByEmail('landed@example.com');
  assert.equal(landed?.external_id, 'landed');
  const record = emulator.requests.at(-1);
  assert.deepEqual([record?.status, record?.accepted, record?.dropped], [201, true, true]);
  await assert.rejects(users.createUser({ email: 'landed@example.com', externalId: 'landed' }), { name: 'BadRequestException', errors: [{ code: 'email_not_available', message: 'This email is not available.' }] });
  assert.equal((await users.getUserByExternalId('landed')).id, landed?.id);
});

test('answers a 429 storm with Retry-After in seconds, as an HTTP-date, or without one', async () => {
  emulator.faults.apply('storm=429x2:retry=3,storm=429x1:retry=date+5,storm=429x1:retry=none');
  const storm = { name: 'RateLimitExceededException', status: 429, message: 'Too many requests.' };
  await assert.rejects(users.listUsers(), { ...storm, retryAfter: 3 });
  await assert.rejects(users.createUser({ email: 'storm@example.com' }), { ...storm, retryAfter: 3 });
  await assert.rejects(users.createUser({ email: 'storm@example.com' }), { ...storm, retryAfter: NaN });
  await assert.rejects(users.createUser({ email: 'storm@example.com' }), { ...storm, retryAfter: null });
  assert.equal(emulator.faults.pending, 0);
  assert.equal((await users.createUser({ email: 'storm@example.com' })).email, 'storm@example.com');
});

test('sends the HTTP-date of a storm as an RFC 7231 date that far ahead', async () => {
  emulator.faults.apply('storm=429x1:retry=date+30');
  const response = await fetch(`${emulator.url}/user_management/users`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const header = response.headers.get('retry-after') ?? '';
  assert.match(header, /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
  const ahead = Date.parse(header) - Date.now();
  assert.ok(ahead > 28_000 && ahead <= 30_000, `${ahead} ms ahead`);
});

test('answers duplicates with 409 after the legacy-409 item and goes back after clear()', async () => {
  await users.createUser({ email: 'twice@example.com' });
  emulator.faults.apply('legacy-409');
  await assert.rejects(users.createUser({ email: 'twice@example.com' }), { name: 'ConflictException', status: 409 });
  emulator.faults.clear();
  await assert.rejects(users.createUser({ email: 'twice@example.com' }), { name: 'BadRequestException', status: 400 });
});

test('delays every request by the configured latency', async () => {
  emulator.faults.apply('latency=120');
  const started = performance.now();
  await users.listUsers({ limit: 1 });
  const elapsed = performance.now() - started;
  emulator.faults.clear();
  assert.ok(elapsed >= 115, `answered after ${elapsed} ms`);
});

test('draws the same faults for the same seed', async () => {
  async function statuses(seed: number): Promise<(number | null)[]> {
    const seeded = await startWorkosEmulator({ seed, faults: 'status=500:0.4,drop=0.2', writes: null, reads: null });
    const client = sdkFor(seeded);
    for (let i = 0; i < 30; i++) await client.userManagement.listUsers().catch(() => undefined);
    await seeded.close();
    return seeded.requests.map((request) => request.status);
  }
  const first = await statuses(7);
  assert.deepEqual(await statuses(7), first);
  assert.deepEqual(new Set(first), new Set([200, 500, null]));
  assert.notDeepEqual(await statuses(8), first);
});

test('keeps its state and port across a restart, and records nothing when recording is off', async () => {
  const seen: string[] = [];
  const quiet = await startWorkosEmulator({ record: false, onRequest: (request) => seen.push(`${request.method} ${request.path} ${request.status}`) });
  try {
    const client = sdkFor(quiet);
    const user = await client.userManagement.createUser({ email: 'survivor@example.com' });
    await quiet.restart();
    assert.equal((await client.userManagement.getUser(user.id)).email, 'survivor@example.com');
    assert.equal(quiet.url, `http://127.0.0.1:${quiet.port}`);
    assert.deepEqual(quiet.requests, []);
    // A long benchmark streams the requests elsewhere instead.
    assert.deepEqual(seen, ['POST /user_management/users 201', `GET /user_management/users/${user.id} 200`]);
  } finally {
    await quiet.close();
  }
});
