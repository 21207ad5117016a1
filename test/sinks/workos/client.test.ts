import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverAddress } from '../../../sinks/workos/client.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { bodyOf, forward, runSink, sdkFor, serve, sinkContext, userEnvelopes } from './harness.ts';

test('takes http(s)://host[:port][/path] apart for the SDK, IPv6 hosts in brackets, the path without its last slash', () => {
  assert.deepEqual(serverAddress('http://127.0.0.1:8787'), { host: { apiHostname: '127.0.0.1', https: false, port: 8787 }, pathPrefix: '' });
  assert.deepEqual(serverAddress('https://api.example.com/'), { host: { apiHostname: 'api.example.com', https: true }, pathPrefix: '' });
  assert.deepEqual(serverAddress('http://[::1]:9000'), { host: { apiHostname: '[::1]', https: false, port: 9000 }, pathPrefix: '' });
  assert.deepEqual(serverAddress('https://gateway.example.com/api/workos/'), { host: { apiHostname: 'gateway.example.com', https: true }, pathPrefix: '/api/workos' });
});

test('refuses a base URL with a query or a fragment, which no request could keep, as a usage error', () => {
  for (const url of ['http://127.0.0.1:8787/workos?x=1', 'http://127.0.0.1:8787/#top']) {
    assert.throws(() => serverAddress(url), { code: 'workos.base_url_invalid', message: /only http\(s\):\/\/host\[:port\]\[\/path\] is possible/ }, url);
  }
});

test('never repeats a password written into a base URL', () => {
  for (const url of ['http://admin:hunter2pass@127.0.0.1:8787', 'http://admin:hunter2pass@[bad']) {
    assert.throws(
      () => serverAddress(url),
      (error: Error) => {
        assert.doesNotMatch(error.message, /hunter2pass/);
        assert.match(error.message, /\[redacted\]@/);
        return true;
      },
    );
  }
});

test('reaches a WorkOS-compatible server under a path, as behind a gateway: every request goes below it', async (t) => {
  const emulator = await emulatorFor(t);
  const outside: string[] = [];
  const gateway = await serve(t, (request, response) => {
    const url = request.url ?? '/';
    if (!url.startsWith('/api/workos/')) {
      outside.push(url);
      response.writeHead(404, { 'content-type': 'text/html' }).end('<p>Not Found</p>');
      return;
    }
    void bodyOf(request).then((body) => forward(emulator, request, body, response, url.slice('/api/workos'.length)));
  });
  // A user already there is looked up by external id, which goes into a path encoded (a slash in it too, workos-api.md
  // §3): the prefix must leave it so.
  const rows = userEnvelopes(3, (seq) => ({ externalId: `legacy/${seq}` }));
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com', externalId: 'legacy/0' });
  const run = sinkContext();
  assert.deepEqual(await runSink(null, rows, run, { baseUrl: `${gateway}/api/workos/` }), { written: 3, failed: 0, skipped: 0 });
  // A second run finds them done; its check that the ledger belongs to this server goes below the path too.
  assert.deepEqual(await runSink(null, rows, run, { baseUrl: `${gateway}/api/workos/` }), { written: 0, failed: 0, skipped: 3 });
  assert.deepEqual(outside, []);
  assert.equal(emulator.store.users.size, 3);
  assert.equal(emulator.store.userByEmail('user0@example.com')?.id, existing.id);
  assert.ok(emulator.requests.some((request) => request.path === '/user_management/users/external_id/legacy%2F0' && request.status === 200));
});
