import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { openLedger } from '../../../state/ledger.ts';
import { accepted, bodyOf, forward, runSink, serve, sinkContext, userEnvelopes } from './harness.ts';

test('5xx answers are retried with backoff until the call succeeds, and no row is lost', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503:0.1,status=500:0.05', seed: 11 });
  const result = await runSink(emulator, userEnvelopes(100), sinkContext(), { retries: 10 });
  assert.deepEqual(result, { written: 100, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 100);
  assert.ok(emulator.requests.some((request) => request.status === 503));
});

test('dropped connections, before or after the write took effect, are retried without creating any user twice', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'drop=0.1,drop-after=0.1', seed: 12 });
  const result = await runSink(emulator, userEnvelopes(100), sinkContext(), { retries: 10 });
  assert.deepEqual(result, { written: 100, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 100);
  const creates = accepted(emulator, 'POST', '/user_management/users');
  assert.equal(new Set(creates.map((request) => (request.body as { email: string }).email)).size, creates.length);
  assert.ok(emulator.requests.some((request) => request.dropped && request.accepted));
});

test('a user found once its create lost its answer is counted apart, not as one already in WorkOS', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'drop-after=x1' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(2), run, { concurrency: 1 });
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  assert.ok(run.lines.some((line) => line.includes("2 written (1 created, 1 found after a create's answer was lost, 0 updated, 0 already in WorkOS, 0 completed)")), run.lines.join(''));
});

test('a user whose create landed while the run that sent it gave up (or was killed) is counted on resume as found after a lost answer, not as one already in WorkOS', async (t) => {
  const emulator = await emulatorFor(t);
  let creates = 0;
  // The second create is applied, and its connection broken before the answer.
  const baseUrl = await serve(t, (request, response) => {
    void bodyOf(request).then(async (body) => {
      if (request.method !== 'POST' || ++creates !== 2) return forward(emulator, request, body, response);
      await forward(emulator, request, body, new ServerResponse(request));
      request.socket.destroy();
    });
  });
  const run = sinkContext();
  await runSink(null, userEnvelopes(1), run, { baseUrl });
  // No retries: the row fails retryable, with its user in WorkOS.
  const first = await runSink(null, userEnvelopes(2), sinkContext({}, run.ledgerPath), { baseUrl, concurrency: 1, retries: 0 });
  assert.deepEqual(first, { written: 0, failed: 1, skipped: 1 });
  assert.equal(emulator.store.users.size, 2);

  const resumed = sinkContext({}, run.ledgerPath);
  await runSink(null, userEnvelopes(2), resumed, { baseUrl, concurrency: 1 });
  assert.ok(resumed.lines.some((line) => line.includes("1 written (0 created, 1 found after a create's answer was lost, 0 updated, 0 already in WorkOS, 0 completed), 1 unchanged")), resumed.lines.join(''));
  assert.equal(emulator.store.users.size, 2);
});

const HTML = 'text/html';
type Answer = [status: number, type: string, body: string];
const NOT_WORKOS: { name: string; answer: (method?: string) => Answer }[] = [
  { name: 'answers 200 without a user id', answer: () => [200, 'application/json', JSON.stringify({ object: 'list', data: [{ email: 'user0@example.com' }], list_metadata: {} })] },
  { name: 'answers 404 with an HTML page', answer: () => [404, HTML, '<html><body>Not Found</body></html>'] },
  // Another JSON API, or the WorkOS API under a path the base URL lacks: a 404 to a create is never WorkOS's.
  { name: 'answers 404 with JSON to every route', answer: () => [404, 'application/json', JSON.stringify({ message: 'Not Found' })] },
  // As `python3 -m http.server` does: its 404 page must not pass for "no such user", nor its 501 for an outage.
  { name: 'serves pages and takes no POST', answer: (method?: string) => (method === 'GET' ? [404, HTML, '<p>File not found</p>'] : [501, HTML, '<p>Unsupported method</p>']) },
];

for (const server of NOT_WORKOS) {
  test(`a server that ${server.name} stops the run (workos.not_workos), and no row is recorded done without a WorkOS id, nor failed for good`, async (t) => {
    const baseUrl = await serve(t, (request, response) => {
      const [status, type, body] = server.answer(request.method);
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    });
    const run = sinkContext();
    await assert.rejects(runSink(null, userEnvelopes(3), run, { baseUrl, retries: 1 }), {
      code: 'workos.not_workos',
      message: /^the server at the base URL does not answer as the WorkOS API does \(WorkOS answered .*\): check WORKOS_API_URL or baseUrl$/,
    });
    const ledger = openLedger(run.ledgerPath, { readonly: true });
    try {
      const status = ledger.status();
      assert.equal(status.byState.done, 0);
      assert.equal(status.byErrorClass.permanent ?? 0, 0);
    } finally {
      ledger.close();
    }
  });
}
