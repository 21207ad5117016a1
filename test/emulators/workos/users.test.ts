import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { API_KEY, rawRequest, startWithSdk } from './harness.ts';

const { emulator, workos } = await startWithSdk({ writes: null, reads: null });
after(() => emulator.close());
const users = workos.userManagement;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test('creates a user with every required field, a ULID id and millisecond timestamps', async () => {
  const user = await users.createUser({ email: 'ana@example.com', firstName: 'Ana', lastName: 'Silva', emailVerified: true, externalId: 'auth0|65a1', metadata: { plan: 'pro' } });
  assert.match(user.id, /^user_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.match(user.createdAt, ISO_MS);
  assert.equal(user.updatedAt, user.createdAt);
  const wire = await rawRequest(emulator, 'GET', `/user_management/users/${user.id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(wire.contentType, 'application/json');
  assert.deepEqual(wire.body, {
    object: 'user',
    id: user.id,
    email: 'ana@example.com',
    email_verified: true,
    first_name: 'Ana',
    last_name: 'Silva',
    profile_picture_url: null,
    last_sign_in_at: null,
    locale: null,
    external_id: 'auth0|65a1',
    metadata: { plan: 'pro' },
    created_at: user.createdAt,
    updated_at: user.createdAt,
  });
});

test('finds a user by id, by external id and by email in any case', async () => {
  const created = await users.createUser({ email: 'Bea@Example.com', externalId: 'bea-1' });
  assert.equal((await users.getUser(created.id)).email, 'Bea@Example.com');
  assert.equal((await users.getUserByExternalId('bea-1')).id, created.id);
  const listed = await users.listUsers({ email: 'bea@example.COM' });
  assert.deepEqual(listed.data.map((user) => user.id), [created.id]);
  assert.deepEqual(listed.listMetadata, { before: null, after: null });
});

test('round-trips an external id holding / and a space, encoded or sent raw as the SDK does', async () => {
  const created = await users.createUser({ email: 'slash@example.com', externalId: 'tenant/7 x' });
  assert.equal((await users.getUserByExternalId(encodeURIComponent('tenant/7 x'))).id, created.id);
  assert.equal((await users.getUserByExternalId('tenant/7 x')).id, created.id);
  assert.deepEqual(
    emulator.requests.filter((request) => request.path.startsWith('/user_management/users/external_id/tenant')).map((request) => request.path),
    ['/user_management/users/external_id/tenant%2F7%20x', '/user_management/users/external_id/tenant/7%20x'],
  );
});

test('pages through users with limit, after, before and order', async () => {
  const { emulator: pagedEmulator, workos: paged } = await startWithSdk();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await paged.userManagement.createUser({ email: `page${i}@example.com` })).id);
    const newestFirst = [...ids].reverse();
    const first = await paged.userManagement.listUsers({ limit: 2 });
    assert.deepEqual(first.data.map((user) => user.id), newestFirst.slice(0, 2));
    assert.deepEqual(first.listMetadata, { before: null, after: newestFirst[1] });
    const second = await paged.userManagement.listUsers({ limit: 2, after: first.listMetadata.after as string });
    assert.deepEqual(second.data.map((user) => user.id), newestFirst.slice(2, 4));
    assert.deepEqual(second.listMetadata, { before: newestFirst[2], after: newestFirst[3] });
    const last = await paged.userManagement.listUsers({ limit: 2, after: second.listMetadata.after as string });
    assert.deepEqual(last.data.map((user) => user.id), newestFirst.slice(4));
    assert.deepEqual(last.listMetadata, { before: newestFirst[4], after: null });
    const back = await paged.userManagement.listUsers({ limit: 2, before: last.listMetadata.before as string });
    assert.deepEqual(back.data.map((user) => user.id), newestFirst.slice(2, 4));
    const ascending = await paged.userManagement.listUsers({ order: 'asc', limit: 3 });
    assert.deepEqual(ascending.data.map((user) => user.id), ids.slice(0, 3));
    assert.deepEqual((await paged.userManagement.listUsers()).data.length, 5);
    await paged.userManagement.deleteUser(ids[2] as string);
    const afterDelete = await paged.userManagement.listUsers({ limit: 2, after: newestFirst[1] });
    assert.deepEqual(afterDelete.data.map((user) => user.id), [ids[1], ids[0]]);
    assert.equal(pagedEmulator.requests.find((request) => request.method === 'GET')?.query.order, 'desc');
  } finally {
    await pagedEmulator.close();
  }
});

test('updates names and merges metadata, where null removes a key', async () => {
  const created = await users.createUser({ email: 'upd@example.com', metadata: { plan: 'pro', seats: '3' } });
  const updated = await users.updateUser({ userId: created.id, firstName: 'Zed', locale: 'pt-BR', metadata: { plan: null, tier: 'gold' } as unknown as Record<string, string> });
  assert.equal(updated.firstName, 'Zed');
  assert.equal(updated.locale, 'pt-BR');
  assert.deepEqual(updated.metadata, { seats: '3', tier: 'gold' });
  assert.deepEqual(emulator.requests.at(-1)?.body, { first_name: 'Zed', locale: 'pt-BR', metadata: { plan: null, tier: 'gold' } });
});

test('refuses to move a user onto an email or external id another user holds', async () => {
  const first = await users.createUser({ email: 'one@example.com', externalId: 'one' });
  await users.createUser({ email: 'two@example.com', externalId: 'two' });
  await assert.rejects(users.updateUser({ userId: first.id, email: 'TWO@example.com' }), {
    name: 'GenericServerException',
    status: 400,
    rawData: { message: 'This email is not available.', code: 'email_not_available' },
  });
  await assert.rejects(users.updateUser({ userId: first.id, externalId: 'two' }), { name: 'GenericServerException', status: 400, rawData: { message: 'This external ID is already in use.', code: 'external_id_already_used' } });
  assert.equal((await users.updateUser({ userId: first.id, email: 'ONE@example.com' })).email, 'ONE@example.com');
});

test('deletes a user, after which it is not found', async () => {
  const created = await users.createUser({ email: 'gone@example.com', externalId: 'gone' });
  await users.deleteUser(created.id);
  await assert.rejects(users.getUser(created.id), { name: 'NotFoundException', status: 404, code: 'entity_not_found', message: `User not found: '${created.id}'.` });
  await assert.rejects(users.getUserByExternalId('gone'), { name: 'NotFoundException', code: 'entity_not_found' });
  assert.equal((await users.createUser({ email: 'gone@example.com', externalId: 'gone' })).email, 'gone@example.com');
});

test('answers a duplicate email, in another case, with the 400 user_creation_error body', async () => {
  await users.createUser({ email: 'dup@example.com' });
  await assert.rejects(users.createUser({ email: 'DUP@example.com' }), {
    name: 'BadRequestException',
    status: 400,
    code: 'user_creation_error',
    message: 'Could not create user.',
    errors: [{ code: 'email_not_available', message: 'This email is not available.' }],
  });
});

test('answers a duplicate external id with the external_id_already_used sub-code', async () => {
  await users.createUser({ email: 'ext-a@example.com', externalId: 'shared-ext' });
  await assert.rejects(users.createUser({ email: 'ext-b@example.com', externalId: 'shared-ext' }), {
    name: 'BadRequestException',
    code: 'user_creation_error',
    errors: [{ code: 'external_id_already_used', message: 'This external ID is already in use.' }],
  });
});

test('answers duplicates with 409 user_already_exists in legacy mode', async () => {
  await users.createUser({ email: 'legacy@example.com', externalId: 'legacy' });
  emulator.faults.legacyConflicts = true;
  try {
    await assert.rejects(users.createUser({ email: 'Legacy@example.com' }), { name: 'ConflictException', status: 409 });
    await assert.rejects(users.createUser({ email: 'other@example.com', externalId: 'legacy' }), { status: 409 });
    const wire = await rawRequest(emulator, 'POST', '/user_management/users', { body: '{"email":"legacy@example.com"}', headers: { authorization: `Bearer ${API_KEY}` } });
    assert.deepEqual(wire.body, { message: 'A user with this email or external ID already exists.', code: 'user_already_exists' });
  } finally {
    emulator.faults.legacyConflicts = false;
  }
  await assert.rejects(users.createUser({ email: 'legacy@example.com' }), { name: 'BadRequestException', status: 400 });
});

test('refuses password and password_hash together', async () => {
  await assert.rejects(users.createUser({ email: 'both@example.com', password: 'hunter22!', passwordHash: '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.', passwordHashType: 'bcrypt' }), {
    name: 'GenericServerException',
    status: 400,
    rawData: { message: 'Provide either password or password_hash, not both.', code: 'password_and_password_hash_provided' },
  });
  assert.equal(emulator.store.userByEmail('both@example.com'), undefined);
});

test('enforces the metadata limits: 10 entries, 40-char ASCII keys, 600-char ASCII string values', async () => {
  const full = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`${'k'.repeat(39)}${i}`, 'v'.repeat(600)]));
  assert.deepEqual((await users.createUser({ email: 'meta-ok@example.com', metadata: full })).metadata, full);
  const tooMany = { ...full, eleventh: 'x' };
  const cases: [string, Record<string, unknown>][] = [
    ['11 entries', tooMany],
    ['41-char key', { [`${'k'.repeat(41)}`]: 'v' }],
    ['non-ASCII key', { 'clé': 'v' }],
    ['601-char value', { k: 'v'.repeat(601) }],
    ['non-ASCII value', { k: 'São Paulo' }],
    ['number value', { k: 3 }],
  ];
  for (const [label, metadata] of cases) {
    const error = await users.createUser({ email: `meta-${label.replace(/\W/g, '')}@example.com`, metadata: metadata as Record<string, string> }).then(
      () => assert.fail(`${label} was accepted`),
      (rejection: { status: number; rawData: { code: string } }) => rejection,
    );
    assert.equal(error.status, 400, label);
    assert.equal(error.rawData.code, 'invalid_metadata', label);
  }
  const user = await users.createUser({ email: 'meta-upd@example.com', metadata: Object.fromEntries(Object.entries(full).slice(0, 9)) });
  await assert.rejects(users.updateUser({ userId: user.id, metadata: { a: '1', b: '2' } }), { status: 400, rawData: { message: 'Metadata can have at most 10 entries.', code: 'invalid_metadata' } });
});

test('answers an external id longer than 64 characters or not ASCII with 422 invalid_request_parameters', async () => {
  assert.equal((await users.createUser({ email: 'ext64@example.com', externalId: 'x'.repeat(64) })).externalId, 'x'.repeat(64));
  await assert.rejects(users.createUser({ email: 'ext65@example.com', externalId: 'x'.repeat(65) }), { name: 'UnprocessableEntityException', status: 422, code: 'invalid_request_parameters' });
  await assert.rejects(users.createUser({ email: 'extutf@example.com', externalId: 'josé' }), { name: 'UnprocessableEntityException', code: 'invalid_request_parameters' });
});

test('answers 401 without a bearer key, which the SDK maps to UnauthorizedException', async () => {
  const headerSets: Record<string, string>[] = [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer ' }];
  for (const headers of headerSets) {
    const answer = await rawRequest(emulator, 'GET', '/user_management/users', { headers });
    assert.equal(answer.status, 401);
    assert.equal(answer.contentType, 'application/json');
    assert.deepEqual(answer.body, { message: 'Missing or invalid API key; send Authorization: Bearer <key>.', code: 'unauthorized' });
  }
  const { WorkOS } = await import('@workos-inc/node');
  const keyless = new WorkOS(API_KEY, {
    apiHostname: '127.0.0.1',
    https: false,
    port: emulator.port,
    fetchFn: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: '' } }),
  });
  await assert.rejects(keyless.userManagement.getUser('user_x'), { name: 'UnauthorizedException', status: 401 });
});

test('answers a body that is not a JSON object with 422 and never with error/error_description keys', async () => {
  const headers = { authorization: `Bearer ${API_KEY}` };
  const broken = await rawRequest(emulator, 'POST', '/user_management/users', { body: '{"email":', headers });
  assert.equal(broken.status, 422);
  assert.deepEqual(broken.body, { message: 'The request body must be a JSON object.', code: 'invalid_request_parameters' });
  assert.equal((await rawRequest(emulator, 'POST', '/user_management/users', { body: '[1]', headers })).status, 422);
  assert.equal(emulator.requests.at(-2)?.body, '{"email":');
  const missing = await rawRequest(emulator, 'POST', '/user_management/users', { body: '{}', headers });
  assert.equal(missing.status, 422);
  assert.deepEqual(missing.body, {
    message: 'Validation failed.',
    code: 'invalid_request_parameters',
    errors: [{ field: 'email', code: 'email_string_required', message: 'email is required and must be a non-empty string.' }],
  });
  for (const body of [broken.body, missing.body]) assert.equal(Object.keys(body as object).some((key) => key === 'error' || key === 'error_description'), false);
});
