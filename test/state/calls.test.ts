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

test('a run that did not end counts as having had calls in flight while it was alive within the window: it answered a call in it, or started in it', () => {
  const settings = { sink: 'workos', baseUrl: 'http://127.0.0.1:8787', rate: '8/2s', readRate: 'none', concurrency: 8, retries: 5 };
  const ledger = openLedger(path.join(tempDir(), 'unfinished.db'));
  try {
    assert.equal(ledger.recentCalls('write', settings.baseUrl, Date.now() - 2_000).unfinishedRun, undefined);
    // Killed before a single answer came: its first calls may still reach the server.
    ledger.startRun(settings);
    assert.deepEqual(ledger.recentCalls('write', settings.baseUrl, Date.now() - 2_000).unfinishedRun, settings);
    // Started before the window, and silent in it: nothing it sent can be in flight still.
    assert.equal(ledger.recentCalls('write', settings.baseUrl, Date.now() + 1_000).unfinishedRun, undefined);
  } finally {
    ledger.close();
  }
});

test('a run that did not end, started before the window, counts while it sent a call within it, answered or not', () => {
  const settings = { sink: 'workos', baseUrl: 'http://127.0.0.1:8787', rate: '8/2s', readRate: 'none', concurrency: 8, retries: 5 };
  const file = path.join(tempDir(), 'sent.db');
  const ledger = openLedger(file);
  try {
    ledger.startRun(settings);
    const db = new Database(file, { readonly: true });
    const started = Date.parse(String(db.prepare('SELECT started_at FROM runs').pluck().get()));
    db.close();
    // A call sent a second after the run started: a window from half a second after the start holds it, one from a
    // second and a half after holds neither.
    ledger.callSent(started + 1_000);
    assert.deepEqual(ledger.recentCalls('write', settings.baseUrl, started + 500).unfinishedRun, settings);
    assert.equal(ledger.recentCalls('write', settings.baseUrl, started + 1_500).unfinishedRun, undefined);
  } finally {
    ledger.close();
  }
});
