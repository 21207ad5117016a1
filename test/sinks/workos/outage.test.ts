import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { openLedger } from '../../../state/ledger.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { bodyOf, forward, runSink, serve, sinkContext, userEnvelopes, type SinkRun } from './harness.ts';

/** Calls `then` once a log line of `run` matches `pattern`. */
function whenLogged(t: TestContext, run: SinkRun, pattern: RegExp, then: () => void): void {
  const timer = setInterval(() => {
    if (!run.lines.some((line) => pattern.test(line))) return;
    clearInterval(timer);
    then();
  }, 20);
  t.after(() => clearInterval(timer));
}

test('an outage that fails every call pauses the run instead of failing row after row, and it goes on when WorkOS answers again', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503x100000' });
  const run = sinkContext();
  whenLogged(t, run, /fails every call/, () => emulator.faults.clear());
  const result = await runSink(emulator, userEnvelopes(6), run, { concurrency: 2, retries: 1 });
  assert.deepEqual(result, { written: 6, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 6);
  const warnings = run.lines.filter((line) => line.includes('fails every call'));
  assert.equal(warnings.length, 1, run.lines.join(''));
  assert.match(warnings[0] ?? '', /^warning: workos: WorkOS fails every call \(injected_fault\); pausing every call for 5.0 s, and the run stops after 10 min without an answer\n$/);
  assert.ok(run.lines.includes('workos: WorkOS answers again; the run goes on\n'), run.lines.join(''));
});

test('calls whose answers an outage lost while its pause began are sent again when WorkOS is back, and fail no row', async (t) => {
  // Slow answers: when the first failure starts the pause, the other calls are still waiting for theirs.
  const emulator = await emulatorFor(t, { faults: 'status=503x100000,latency=100-1500', seed: 5 });
  const run = sinkContext();
  whenLogged(t, run, /fails every call/, () => emulator.faults.clear());
  const result = await runSink(emulator, userEnvelopes(8), run, { concurrency: 4, retries: 0 });
  assert.deepEqual(result, { written: 8, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 8);
});

test('a row whose own create keeps failing while WorkOS answers other calls ends failed/retryable with the server code once its retries are spent, without pausing the run', async (t) => {
  const emulator = await emulatorFor(t);
  // A proxy in front of the emulator that fails every create of one user, as a server bug on one record would.
  const baseUrl = await serve(t, (request, response) => {
    void bodyOf(request).then((body) => {
      if (request.method !== 'POST' || !body.includes('user1@example.com')) return forward(emulator, request, body, response);
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal server error' }));
    });
  });
  const run = sinkContext();
  const result = await runSink(null, userEnvelopes(4), run, { baseUrl, concurrency: 1, retries: 2 });
  assert.deepEqual(result, { written: 3, failed: 1, skipped: 0 });
  assert.ok(!run.lines.some((line) => line.includes('fails every call')), run.lines.join(''));
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    const failed = [...ledger.rows()].filter((row) => row.state === 'failed');
    assert.deepEqual(
      failed.map((row) => [row.key, row.error]),
      [['ext:ext-1', { errorClass: 'retryable', code: 'http_500', message: 'Internal server error' }]],
    );
  } finally {
    ledger.close();
  }
});

test('an outage longer than maxOutage stops the run with the rows it holds in flight, and the next run writes every row once', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503x100000' });
  const run = sinkContext();
  const rows = userEnvelopes(20);
  await assert.rejects(runSink(emulator, rows, run, { concurrency: 4, retries: 1, maxOutage: 1000 }), {
    code: 'workos.outage',
    message: /^WorkOS has failed every call \(last: injected_fault: Service Unavailable \(injected fault\)\.\) for \d\.\d s; the run stops here, and the next run takes up the rows not written$/,
  });
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    const { byState } = ledger.status();
    assert.equal(byState.failed, 0);
    assert.ok(byState.in_flight > 0 && byState.in_flight <= 4, `${byState.in_flight} rows in flight`);
    // The sink's summary says so too, as after Ctrl-C.
    assert.ok(run.lines.some((line) => line.includes(`, ${byState.in_flight} left for the next run;`)), run.lines.join(''));
  } finally {
    ledger.close();
  }

  emulator.faults.clear();
  const resumed = await runSink(emulator, rows, sinkContext({}, run.ledgerPath), { concurrency: 4, retries: 1 });
  assert.equal(resumed.written, 20);
  assert.equal(emulator.store.users.size, 20);
});

test('a server the ledger wrote to that stops answering is an outage to wait out, not a wrong base URL', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, userEnvelopes(2), run);
  await emulator.close();
  await assert.rejects(runSink(null, userEnvelopes(3), run, { baseUrl: emulator.url, retries: 0, maxOutage: 1000 }), {
    code: 'workos.outage',
    message: /^WorkOS has failed every call \(last: network_error: connect ECONNREFUSED 127\.0\.0\.1:\d+\) for \d\.\d s; the run stops here/,
  });
  assert.ok(run.lines.some((line) => line.startsWith('warning: workos: WorkOS fails every call (network_error)')), run.lines.join(''));
});

test('a server that answers nothing but 429 for longer than maxOutage stops the run instead of pausing forever', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x100000:retry=1' });
  await assert.rejects(runSink(emulator, userEnvelopes(2), sinkContext(), { concurrency: 1, maxOutage: 2000 }), {
    code: 'workos.rate_limited',
    message: /^WorkOS has answered nothing but 429 \(rate limited\) for \d\.\d s; the run stops here/,
  });
});

test('a new ledger and a server slower than the timeout: the run stops saying the timeout may be too short, not only the base URL', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'latency=300' });
  await assert.rejects(runSink(emulator, userEnvelopes(3), sinkContext(), { retries: 0, timeout: 50 }), {
    code: 'workos.unreachable',
    message: /^cannot reach the WorkOS API \(no answer from WorkOS in time.*\): check the base URL .*, or raise the timeout option if the server is slow to answer$/,
  });
});

test('writes that all fail while WorkOS answers reads fail ten rows, then every call pauses before the next ones', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503x100000:writes' });
  const run = sinkContext();
  // Writes come back during the pause: the rows after it are written.
  whenLogged(t, run, /failed the last 10 writes/, () => emulator.faults.clear());
  const result = await runSink(emulator, userEnvelopes(30), run, { concurrency: 1, retries: 0 });
  // Ten rows in a row could be ten records the server cannot take, or writes that are down: they fail, retryable.
  assert.deepEqual(result, { written: 20, failed: 10, skipped: 0 });
  assert.equal(emulator.store.users.size, 20);
  assert.ok(
    run.lines.some((line) =>
      /^warning: workos: WorkOS answers reads but failed the last 10 writes \(injected_fault\); pausing every call for 5\.0 s, then the rows go on \(those failed are failed\/retryable, for the next run or a replay\), and the run stops after 10 min without a write taken\n$/.test(line),
    ),
    run.lines.join(''),
  );

  // The next run sends the ten again.
  const resumed = await runSink(emulator, userEnvelopes(30), sinkContext({}, run.ledgerPath), { concurrency: 2 });
  assert.equal(resumed.written, 10);
  assert.equal(emulator.store.users.size, 30);
});

test('a new ledger whose first calls all lose their connection after they were sent goes on once the server answers: no "cannot reach"', async (t) => {
  const emulator = await emulatorFor(t);
  let dropped = 0;
  // The server takes the first requests, then drops each connection before answering, as one restarting would.
  const baseUrl = await serve(t, (request, response) => {
    void bodyOf(request).then(async (body) => {
      if (dropped++ < 8) request.socket.destroy();
      else await forward(emulator, request, body, response);
    });
  });
  const result = await runSink(null, userEnvelopes(10), sinkContext(), { baseUrl, concurrency: 8, retries: 2 });
  assert.deepEqual(result, { written: 10, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 10);
});

test('a new ledger whose first creates all time out together (a slow start) goes on once the server answers a read: no "cannot reach"', async (t) => {
  const emulator = await emulatorFor(t);
  let slowed = 0;
  // The first creates are taken and applied, but answered after the timeout; every call after them as usual.
  const baseUrl = await serve(t, (request, response) => {
    void bodyOf(request).then(async (body) => {
      if (request.method === 'POST' && slowed++ < 8) await new Promise((resolve) => setTimeout(resolve, 700));
      if (!request.socket.destroyed) await forward(emulator, request, body, response);
    });
  });
  const result = await runSink(null, userEnvelopes(10), sinkContext(), { baseUrl, concurrency: 8, retries: 2, timeout: 300 });
  assert.deepEqual(result, { written: 10, failed: 0, skipped: 0 });
  assert.equal(emulator.store.users.size, 10);
});

test('a block of rows the server cannot take fails row by row with a pause between tens, and the rows after it are written', async (t) => {
  const emulator = await emulatorFor(t);
  // A server bug on one kind of record: every create of a "legacy" user answers 500.
  const baseUrl = await serve(t, (request, response) => {
    void bodyOf(request).then(async (body) => {
      if (request.method === 'POST' && body.includes('legacy')) response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal server error' }));
      else await forward(emulator, request, body, response);
    });
  });
  const rows = userEnvelopes(45, (seq) => (seq >= 5 && seq < 25 ? { email: `legacy${seq}@example.com` } : {}));
  const result = await runSink(null, rows, sinkContext(), { baseUrl, concurrency: 4, retries: 1, maxOutage: 60_000 });
  assert.deepEqual(result, { written: 25, failed: 20, skipped: 0 });
  assert.equal(emulator.store.users.size, 25);
});

test('a new ledger and a base URL where something takes connections and drops them, or answers no HTTP: the run stops as unreachable', async (t) => {
  for (const drop of [(socket: Socket) => socket.destroy(), (socket: Socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n')]) {
    const server = createServer(drop).listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await assert.rejects(runSink(null, userEnvelopes(3), sinkContext(), { baseUrl, retries: 1 }), { code: 'workos.unreachable' });
  }
});

test('a server that answers reads but takes no write for longer than maxOutage stops the run instead of failing rows ten a pause for ever', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503x100000:writes' });
  const run = sinkContext();
  const rows = userEnvelopes(200);
  await assert.rejects(runSink(emulator, rows, run, { concurrency: 1, retries: 0, maxOutage: 1000 }), {
    code: 'workos.writes_down',
    message:
      /^WorkOS has answered reads but taken no write for \d\.\d s \(last: injected_fault: Service Unavailable \(injected fault\)\.\); the run stops here: the rows failed are failed\/retryable, for the next run or a replay, and the next run takes up the rows not written$/,
  });
  assert.ok(run.lines.some((line) => line.endsWith('and the run stops after 1.0 s without a write taken\n')), run.lines.join(''));
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  let failed: number;
  try {
    failed = ledger.status().byState.failed;
  } finally {
    ledger.close();
  }
  assert.ok(failed >= 10 && failed < 200, `${failed} rows failed`);

  emulator.faults.clear();
  const resumed = await runSink(emulator, rows, sinkContext({}, run.ledgerPath), { concurrency: 4 });
  assert.equal(resumed.written, 200);
  assert.equal(emulator.store.users.size, 200);
});
