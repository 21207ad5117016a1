import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostOptions } from '../../../sinks/workos/client.ts';

test('takes http(s)://host[:port] apart for the SDK, IPv6 hosts in brackets', () => {
  assert.deepEqual(hostOptions('http://127.0.0.1:8787'), { apiHostname: '127.0.0.1', https: false, port: 8787 });
  assert.deepEqual(hostOptions('https://api.example.com/'), { apiHostname: 'api.example.com', https: true });
  assert.deepEqual(hostOptions('http://[::1]:9000'), { apiHostname: '[::1]', https: false, port: 9000 });
});

test('refuses a base URL with a path, which the SDK would drop, as a usage error', () => {
  assert.throws(() => hostOptions('http://127.0.0.1:8787/workos'), { code: 'workos.base_url_invalid', message: /only http\(s\):\/\/host\[:port\]/ });
});

test('never repeats a password written into a base URL', () => {
  for (const url of ['http://admin:hunter2pass@127.0.0.1:8787', 'http://admin:hunter2pass@[bad']) {
    assert.throws(
      () => hostOptions(url),
      (error: Error) => {
        assert.doesNotMatch(error.message, /hunter2pass/);
        assert.match(error.message, /\[redacted\]@/);
        return true;
      },
    );
  }
});
