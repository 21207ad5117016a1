import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { openLedger } from '../../state/ledger.ts';
import { tempDir } from '../sources/context.ts';

test('calls are kept by server and budget, and those older than the window asked about are deleted', () => {
  const file = path.join(tempDir(), 'calls.db');
  const ledger = openLedger(file);
  const now = Date.now();
  try {
    ledger.callAnswered('write', 'http://127.0.0.1:8787', now - 20_000, 10_000);
    ledger.callAnswered('write', 'http://127.0.0.1:8787', now - 1_000, 10_000);
    ledger.callAnswered('read', 'http://127.0.0.1:8787', now - 1_000, 10_000);
    ledger.callAnswered('write', '', now - 500, 10_000);
    assert.deepEqual(ledger.recentCalls('write', 'http://127.0.0.1:8787', now - 10_000).answeredAt, [now - 1_000]);
    assert.deepEqual(ledger.recentCalls('write', '', now - 10_000).answeredAt, [now - 500]);
  } finally {
    ledger.close();
  }
  const db = new Database(file, { readonly: true });
  assert.equal(db.prepare("SELECT count(*) FROM calls WHERE kind = 'write'").pluck().get(), 2);
  db.close();
});
