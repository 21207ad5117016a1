import assert from 'node:assert/strict';
import { chmodSync, closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { openLedger } from '../../state/ledger.ts';
import { tempDir } from '../sources/context.ts';

test('a ledger in a folder that does not exist yet is created there, readable by its owner only', () => {
  const file = path.join(tempDir(), 'not', 'yet', 'there.db');
  const ledger = openLedger(file);
  try {
    assert.equal(statSync(file).mode & 0o777, 0o600);
  } finally {
    ledger.close();
  }
});

test('a ledger file made by another tool with open permissions is tightened to 0600', () => {
  const file = path.join(tempDir(), 'loose.db');
  writeFileSync(file, '', { mode: 0o644 });
  openLedger(file).close();
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('reading a ledger that does not exist says so, naming the file', () => {
  const file = path.join(tempDir(), 'missing.db');
  assert.throws(() => openLedger(file, { readonly: true }), { code: 'ledger.missing', message: `ledger ${file} does not exist` });
});

test('a file that is not a ledger is refused, naming it, and left as it was', () => {
  const dir = tempDir();
  const exportFile = path.join(dir, 'users.csv');
  writeFileSync(exportFile, 'email\nana@example.com\n', { mode: 0o644 });
  const otherDatabase = path.join(dir, 'other.db');
  const other = new Database(otherDatabase);
  other.exec('CREATE TABLE notes (text TEXT)');
  other.close();
  chmodSync(otherDatabase, 0o644);
  const cases = [
    { file: exportFile, what: 'not an SQLite database' },
    { file: dir, what: 'it is a folder' },
    { file: otherDatabase, what: 'an SQLite database without the ledger tables' },
  ];
  for (const { file, what } of cases) {
    for (const readonly of [false, true]) {
      assert.throws(() => openLedger(file, { readonly }), {
        code: 'ledger.not_a_ledger',
        message: `${file} is not an authpipe ledger (${what})`,
      });
    }
  }
  assert.equal(statSync(exportFile).mode & 0o777, 0o644);
  assert.equal(statSync(otherDatabase).mode & 0o777, 0o644);
  const reopened = new Database(otherDatabase, { readonly: true });
  assert.deepEqual(reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ['notes']);
  reopened.close();
});

test('a ledger of the first schema is read as it is (status, rows, factors), and brought forward when opened to write', async () => {
  const file = path.join(tempDir(), 'first-schema.db');
  const ledger = openLedger(file);
  await ledger.claim({ key: 'ext:u1', seq: 1, origin: { file: 'users.csv', line: 2 }, payload: '{"email":"a@example.com"}', payloadHash: 'h', issues: [], pendingUpdate: null });
  await ledger.claimFactor('ext:u1', 'secret-hash');
  ledger.close();
  // What an authpipe of the first schema left: no calls table, no secret hashes, no time of a run's last call.
  const db = new Database(file);
  db.exec('DROP TABLE calls; ALTER TABLE factors DROP COLUMN secret_hash; ALTER TABLE runs DROP COLUMN last_call_at; DELETE FROM schema_migrations WHERE version > 1');
  db.close();

  const reading = openLedger(file, { readonly: true });
  try {
    assert.equal(reading.status().byState.in_flight, 1);
    assert.equal([...reading.rows()].length, 1);
    assert.deepEqual(reading.factor('ext:u1'), { state: 'in_flight', workosFactorId: null, secretHash: null });
    assert.equal(reading.lastRunEnded(), true);
  } finally {
    reading.close();
  }
  const writing = openLedger(file);
  try {
    assert.deepEqual(writing.recentCalls('write', '', 0).answeredAt, []);
  } finally {
    writing.close();
  }
});

test('a damaged ledger is refused naming the file and what to do, not with SQLite\'s words alone', async () => {
  const file = path.join(tempDir(), 'damaged.db');
  const ledger = openLedger(file);
  await ledger.claim({ key: 'ext:u1', seq: 1, origin: { file: 'users.csv', line: 2 }, payload: '{}', payloadHash: 'h', issues: [], pendingUpdate: null });
  ledger.close();
  // The header stays (it is still an SQLite file); the pages after it are overwritten.
  const descriptor = openSync(file, 'r+');
  writeSync(descriptor, Buffer.alloc(3000, 0x41), 0, 3000, 100);
  closeSync(descriptor);
  for (const readonly of [true, false]) {
    assert.throws(() => openLedger(file, { readonly }), {
      code: 'ledger.damaged',
      message: new RegExp(`^ledger ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged \\(database disk image is malformed \\[SQLITE_CORRUPT\\]\\): restore it from a copy`),
    });
  }
});
