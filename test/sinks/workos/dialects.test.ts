// WorkOS-compatible servers that say things their own way: each test puts a server of its own in front of the
// emulator that answers some requests in another dialect, and checks that the import still lands exactly once.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { WorkosEmulator } from '../../../emulators/workos/server.ts';
import { runDiff } from '../../../sinks/diff.ts';
import { workosSink } from '../../../sinks/workos.ts';
import { openLedger } from '../../../state/ledger.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { API_KEY, bodyOf, forward, runSink, sdkFor, serve, sinkContext, userEnvelope, type SinkRun } from './harness.ts';

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

/**
 * A server in front of `emulator`: `answer` answers a request its own way (and returns true), or leaves it to the
 * emulator. Its base URL.
 */
function dialect(t: TestContext, emulator: WorkosEmulator, answer: (request: Received, response: ServerResponse) => boolean | Promise<boolean>): Promise<string> {
  return serve(t, (request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const body = await bodyOf(request);
      const url = new URL(request.url ?? '/', 'http://x');
      const received = { method: request.method ?? '', path: url.pathname, query: url.searchParams, body: body.length === 0 ? {} : (JSON.parse(body.toString()) as Record<string, unknown>) };
      if (!(await answer(received, response))) await forward(emulator, request, body, response);
    })();
  });
}

const json = (response: ServerResponse, status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The emulator's answer to `request`, sent with `body` in place of its own: a server's own reading of the request. */
async function emulatorAnswer(emulator: WorkosEmulator, request: Received, body: Record<string, unknown> = request.body): Promise<Answer> {
  const answered = await fetch(`${emulator.url}${request.path}?${request.query}`, {
    method: request.method,
    headers: { authorization: 'Bearer sk_test_sink', 'content-type': 'application/json' },
    body: request.method === 'GET' ? undefined : JSON.stringify(body),
  });
  return { status: answered.status, body: (await answered.json()) as Record<string, unknown> };
}

const answerAs = (response: ServerResponse, { status, body }: Answer) => json(response, status, body);
const isCreateUser = (request: Received) => request.method === 'POST' && request.path === '/user_management/users';

function rowsOf(run: SinkRun) {
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    return [...ledger.rows()].map((row) => ({ state: row.state, code: row.error?.code ?? null, userId: row.workosUserId }));
  } finally {
    ledger.close();
  }
}

for (const [shape, answer] of [
  ['a flat 400 {code: email_not_available}', (response: ServerResponse) => json(response, 400, { code: 'email_not_available', message: 'This email is not available.' })],
  ['a 422 with errors[].code email_not_available', (response: ServerResponse) => json(response, 422, { code: 'invalid_request_parameters', message: 'Invalid.', errors: [{ code: 'email_not_available' }] })],
  ['a 409 with a plain-text body', (response: ServerResponse) => response.writeHead(409, { 'content-type': 'text/plain' }).end('user exists')],
  ["OAuth's 400 {error: email_not_available, error_description}", (response: ServerResponse) => json(response, 400, { error: 'email_not_available', error_description: 'This email is not available.' })],
] as const) {
  test(`a duplicate said as ${shape} is the user already there: found, recorded, given its memberships`, async (t) => {
    const emulator = await emulatorFor(t);
    const existing = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com' });
    let creates = 0;
    const baseUrl = await dialect(t, emulator, (request, response) => {
      if (!isCreateUser(request)) return false;
      creates++;
      answer(response);
      return true;
    });
    const run = sinkContext();
    const result = await runSink(null, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['member'] }] })], run, { baseUrl });
    assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
    // Taken as the answer it is, not as a failure to send again.
    assert.equal(creates, 1);
    assert.deepEqual(rowsOf(run), [{ state: 'done', code: null, userId: existing.id }]);
    assert.equal(emulator.store.membershipsOfUser(existing.id).length, 1);
  });
}

test('a server whose email filter minds case, holding emails in lower case, finds a mixed-case source email; the case alone is no email change', async (t) => {
  const emulator = await emulatorFor(t);
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'person@example.com' });
  const updates: Record<string, unknown>[] = [];
  const baseUrl = await dialect(t, emulator, (request, response) => {
    if (request.method === 'GET' && request.path === '/user_management/users' && /[A-Z]/.test(request.query.get('email') ?? '')) {
      json(response, 200, { object: 'list', data: [], list_metadata: { before: null, after: null } });
      return true;
    }
    if (request.method === 'PUT') {
      updates.push(request.body);
      if ('email' in request.body) {
        json(response, 400, { code: 'email_change_not_allowed', message: 'Email changes are not allowed.' });
        return true;
      }
    }
    return false;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0, { email: 'Person@Example.COM' })], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.deepEqual(rowsOf(run), [{ state: 'done', code: null, userId: existing.id }]);
  assert.equal(updates.length, 1);
  assert.equal(emulator.store.users.get(existing.id)?.external_id, 'ext-0');
});

test('a server that answers an empty external id for none: the user found by email is this row\'s, not another person', async (t) => {
  const emulator = await emulatorFor(t);
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com' });
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (!(request.method === 'GET' && request.path === '/user_management/users')) return false;
    const listed = await fetch(`${emulator.url}${request.path}?${request.query}`, { headers: { authorization: 'Bearer sk_test_sink' } });
    const page = (await listed.json()) as { data: Record<string, unknown>[] };
    json(response, 200, { ...page, data: page.data.map((user) => ({ ...user, external_id: user.external_id ?? '' })) });
    return true;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0)], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.deepEqual(rowsOf(run), [{ state: 'done', code: null, userId: existing.id }]);
});

test('a duplicate whose user the server does not list yet is looked for again, later; one it never lists fails retryable, nothing created', async (t) => {
  const emulator = await emulatorFor(t);
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com' });
  await sdkFor(emulator).userManagement.createUser({ email: 'user1@example.com' });
  let lookups = 0;
  const baseUrl = await dialect(t, emulator, (request, response) => {
    const lookup = request.method === 'GET' && (request.path.startsWith('/user_management/users/external_id/') || request.path === '/user_management/users');
    if (!lookup) return false;
    // user0 shows from its third lookup on; user1 never does.
    if (request.path.endsWith('ext-0') || request.query.get('email') === 'user0@example.com') lookups++;
    const hidden = request.path.endsWith('ext-1') || request.query.get('email') === 'user1@example.com' || lookups <= 2;
    if (!hidden) return false;
    if (request.path === '/user_management/users') json(response, 200, { object: 'list', data: [], list_metadata: { before: null, after: null } });
    else json(response, 404, { message: 'Not found', code: 'entity_not_found' });
    return true;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0), userEnvelope(1)], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 1, skipped: 0 });
  assert.deepEqual(rowsOf(run), [
    { state: 'done', code: null, userId: existing.id },
    { state: 'failed', code: 'duplicate_not_found', userId: null },
  ]);
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  assert.equal([...ledger.rows()][1]?.error?.errorClass, 'retryable');
  ledger.close();
  assert.equal(emulator.store.users.size, 2);
});

test('a 2xx whose body is cut short may have created the user: looked up, found, not created twice; a gzip body is read', async (t) => {
  const emulator = await emulatorFor(t);
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    const created = await fetch(`${emulator.url}${request.path}`, {
      method: request.method,
      headers: { authorization: 'Bearer sk_test_sink', 'content-type': 'application/json' },
      body: request.method === 'GET' ? undefined : JSON.stringify(request.body),
    });
    const text = await created.text();
    if (isCreateUser(request) && request.body.email === 'user0@example.com') {
      response.writeHead(created.status, { 'content-type': 'application/json' }).end(text.slice(0, 20));
    } else {
      response.writeHead(created.status, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(text));
    }
    return true;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0), userEnvelope(1)], run, { baseUrl, concurrency: 1 });
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 2);
  assert.deepEqual(
    rowsOf(run).map((row) => row.state),
    ['done', 'done'],
  );
});

test('a TOTP enrolment whose connection breaks once sent, on a server that lists the factor late, is not enrolled again: looked for again, it is found in the run', async (t) => {
  const emulator = await emulatorFor(t);
  let droppedAt: number | null = null;
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (!request.path.endsWith('/auth_factors')) return false;
    if (request.method === 'POST' && droppedAt === null) {
      await fetch(`${emulator.url}${request.path}`, { method: 'POST', headers: { authorization: 'Bearer sk_test_sink', 'content-type': 'application/json' }, body: JSON.stringify(request.body) });
      droppedAt = performance.now();
      response.socket?.destroy();
      return true;
    }
    // Listed a second and a half after it was made.
    if (request.method === 'GET' && droppedAt !== null && performance.now() - droppedAt < 1500) {
      json(response, 200, { object: 'list', data: [], list_metadata: { before: null, after: null } });
      return true;
    }
    return false;
  });
  const envelopes = [userEnvelope(0, { totpSecret: 'JBSWY3DPEHPK3PXP' })];
  assert.deepEqual(await runSink(null, envelopes, sinkContext(), { baseUrl }), { written: 1, failed: 0, skipped: 0 });
  const userId = emulator.store.userByEmail('user0@example.com')?.id ?? '';
  assert.equal(emulator.store.authFactorsOfUser(userId).length, 1);
});

test('an organization WorkOS refuses to create as existing (external_id_already_used) is looked up again and used, not failed', async (t) => {
  const emulator = await emulatorFor(t);
  const acme = await sdkFor(emulator).organizations.createOrganization({ name: 'Acme', externalId: 'acme' });
  let orgLookups = 0;
  const baseUrl = await dialect(t, emulator, (request, response) => {
    // The first lookup misses it (made meanwhile, or not listed yet); the create is refused.
    if (request.method === 'GET' && request.path === '/organizations/external_id/acme' && ++orgLookups === 1) {
      json(response, 404, { message: 'Not found' });
      return true;
    }
    if (request.method === 'POST' && request.path === '/organizations') {
      json(response, 400, { code: 'external_id_already_used', message: 'External ID already used.' });
      return true;
    }
    return false;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }] })], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.equal(emulator.store.organizations.size, 1);
  const userId = emulator.store.userByEmail('user0@example.com')?.id ?? '';
  assert.ok(emulator.store.membershipOf(userId, acme.id));
});

test('a membership a server says exists with a 400 "already exists" code is found and given the source roles', async (t) => {
  const emulator = await emulatorFor(t);
  const acme = await sdkFor(emulator).organizations.createOrganization({ name: 'Acme', externalId: 'acme' });
  const user = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com', externalId: 'ext-0' });
  await sdkFor(emulator).userManagement.createOrganizationMembership({ userId: user.id, organizationId: acme.id, roleSlug: 'member' });
  const baseUrl = await dialect(t, emulator, (request, response) => {
    if (!(request.method === 'POST' && request.path === '/user_management/organization_memberships')) return false;
    json(response, 400, { code: 'organization_membership_already_exists', message: 'The user is already a member.' });
    return true;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }] })], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.deepEqual(
    emulator.store.membershipsOfUser(user.id).map((membership) => membership.roles.map((role) => role.slug)),
    [['admin']],
  );
});

test('a server that replaces metadata on an update instead of merging it keeps the keys the source did not change, and a found user\'s own', async (t) => {
  const emulator = await emulatorFor(t);
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com', metadata: { plan: 'pro' } });
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (request.method !== 'PUT' || !request.path.startsWith('/user_management/users/') || request.body.metadata === undefined) return false;
    // WorkOS's own emulator sets the metadata sent as the whole of it: every key the user holds and the body lacks goes.
    const held = emulator.store.users.get(request.path.split('/').at(-1) ?? '')?.metadata ?? {};
    const metadata = { ...Object.fromEntries(Object.keys(held).map((key) => [key, null])), ...(request.body.metadata as Record<string, string | null>) };
    answerAs(response, await emulatorAnswer(emulator, request, { ...request.body, metadata }));
    return true;
  });
  const run = sinkContext();
  await runSink(null, [userEnvelope(0, { metadata: { username: 'u0' } }), userEnvelope(1, { metadata: { team: 'a', region: 'eu' } })], run, { baseUrl });
  assert.deepEqual(emulator.store.users.get(existing.id)?.metadata, { plan: 'pro', username: 'u0' });
  await runSink(null, [userEnvelope(0, { metadata: { username: 'u0' } }), userEnvelope(1, { metadata: { team: 'b', region: 'eu' } })], run, { baseUrl });
  assert.deepEqual(emulator.store.userByEmail('user1@example.com')?.metadata, { team: 'b', region: 'eu' });
});

test('a server that answers an update without applying the email fails the row update_not_applied instead of recording it updated', async (t) => {
  const emulator = await emulatorFor(t);
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (request.method !== 'PUT' || !request.path.startsWith('/user_management/users/') || request.body.email === undefined) return false;
    // WorkOS's own emulator has no email branch in its update: it answers 200 with the user as it was.
    const applied = { ...request.body };
    delete applied.email;
    answerAs(response, await emulatorAnswer(emulator, request, applied));
    return true;
  });
  const run = sinkContext();
  await runSink(null, [userEnvelope(0)], run, { baseUrl });
  const result = await runSink(null, [userEnvelope(0, { email: 'renamed0@example.com', firstName: 'Renamed' })], run, { baseUrl });
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    const [row] = [...ledger.rows()];
    assert.deepEqual(row?.error, {
      errorClass: 'permanent',
      code: 'update_not_applied',
      message: `WorkOS answered the update of user ${row?.workosUserId} without applying email: the server may not allow changing it`,
    });
  } finally {
    ledger.close();
  }
});

test('a server that ignores role_slugs fails the membership roles_not_applied instead of recording the other role as done', async (t) => {
  const emulator = await emulatorFor(t);
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (request.method !== 'POST' || request.path !== '/user_management/organization_memberships') return false;
    // WorkOS's own emulator reads role_slug only, and gives the default role.
    const taken = { ...request.body };
    delete taken.role_slugs;
    answerAs(response, await emulatorAnswer(emulator, request, taken));
    return true;
  });
  const run = sinkContext();
  const org = { externalId: 'acme', name: 'Acme', roles: ['admin', 'billing'] };
  const result = await runSink(null, [userEnvelope(0, { orgs: [org] }), userEnvelope(1, { orgs: [{ ...org, roles: ['admin'] }] })], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 1, skipped: 0 });
  assert.deepEqual(
    rowsOf(run).map(({ state, code }) => [state, code]),
    [
      ['failed', 'roles_not_applied'],
      ['done', null],
    ],
  );
});

test('a server that marks a changed email unverified, as WorkOS does, gets the source\'s verified flag in an update of its own', async (t) => {
  const emulator = await emulatorFor(t);
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (request.method !== 'PUT' || !request.path.startsWith('/user_management/users/') || request.body.email === undefined) return false;
    answerAs(response, await emulatorAnswer(emulator, request, { ...request.body, email_verified: false }));
    return true;
  });
  for (const [before, after] of [
    [false, true],
    [true, true],
  ]) {
    const run = sinkContext();
    const email = `verified-${before}@example.com`;
    await runSink(null, [userEnvelope(0, { email, externalId: email, emailVerified: before })], run, { baseUrl });
    const result = await runSink(null, [userEnvelope(0, { email: `renamed-${email}`, externalId: email, emailVerified: after })], run, { baseUrl });
    assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
    assert.equal(emulator.store.userByEmail(`renamed-${email}`)?.email_verified, after);
  }
});

test('a server whose membership answers have no roles list: several roles are taken when its one role is among them, by the writer and the diff alike', async (t) => {
  const emulator = await emulatorFor(t);
  const baseUrl = await dialect(t, emulator, async (request, response) => {
    if (!request.path.startsWith('/user_management/organization_memberships')) return false;
    const answer = await emulatorAnswer(emulator, request);
    const { data } = answer.body as { data?: Record<string, unknown>[] };
    for (const membership of data ?? [answer.body]) delete membership.roles;
    answerAs(response, answer);
    return true;
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['admin', 'billing'] }] })], run, { baseUrl });
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const counts = await runDiff(run.ledgerPath, workosSink.options.parse({ apiKey: API_KEY, baseUrl, retries: 0 }), undefined, run.ctx);
  assert.deepEqual(counts.memberships, { expected: 1, missing: 0, otherRoles: 0, notInSource: 0 });
});
