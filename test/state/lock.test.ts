import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openLedger } from '../../state/ledger.ts';
import { tempDir } from '../sources/context.ts';

const child = fileURLToPath(new URL('./open-ledger-child.ts', import.meta.url));

function openInChild(file: string, mode: 'hold' | 'close') {
  const process = spawn('node', ['--import', 'tsx', child, file, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  process.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { process, output: () => output };
}

test('a second process on the same ledger refuses at start, naming the process that has it', async () => {
  const file = path.join(tempDir(), 'clerk.db');
  const ledger = openLedger(file);
  try {
    const second = openInChild(file, 'close');
    const [code] = (await once(second.process, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(second.output(), new RegExp(`^ledger.locked: ledger .*clerk\\.db is in use by process ${process.pid} \\(started [0-9T:.-]+Z\\); wait for it or stop it`));
  } finally {
    ledger.close();
  }
});

test('a second process reaching the same ledger through a link refuses too', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'clerk.db');
  const holder = openInChild(file, 'hold');
  t.after(() => holder.process.kill('SIGKILL'));
  while (!holder.output().includes('open')) await once(holder.process.stdout, 'data');
  const link = path.join(dir, 'link.db');
  symlinkSync(file, link);
  assert.throws(() => openLedger(link), { code: 'ledger.locked' });
});

test('a reader learns which process is writing the ledger now, and that none is once it has died', async () => {
  const file = path.join(tempDir(), 'clerk.db');
  const holder = openInChild(file, 'hold');
  while (!holder.output().includes('open')) await once(holder.process.stdout, 'data');
  const reading = openLedger(file, { readonly: true });
  try {
    assert.equal(reading.activeWriter()?.pid, holder.process.pid);
    holder.process.kill('SIGKILL');
    await once(holder.process, 'exit');
    assert.equal(reading.activeWriter(), null);
  } finally {
    reading.close();
  }
});

test('a lock left by a process that was killed is taken over', async () => {
  const file = path.join(tempDir(), 'clerk.db');
  const holder = openInChild(file, 'hold');
  while (!holder.output().includes('open')) await once(holder.process.stdout, 'data');
  holder.process.kill('SIGKILL');
  await once(holder.process, 'exit');
  assert.equal(existsSync(`${file}.lock`), true);
  const ledger = openLedger(file);
  ledger.close();
  assert.equal(existsSync(`${file}.lock`), false);
});

test('a lock left by a killed process that nobody has reaped yet (a zombie) is taken over', async (t) => {
  const file = path.join(tempDir(), 'clerk.db');
  // The holder's parent becomes `sleep`, which never reaps it: once killed, it stays a zombie while sleep runs, as a
  // killed process does under a parent that has not waited for it yet (a script's shell, a container's pid 1).
  const parent = spawn('sh', ['-c', `node --import tsx ${child} ${file} hold & echo $!; exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => parent.kill('SIGKILL'));
  let output = '';
  parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  while (!output.includes('open')) await once(parent.stdout, 'data');
  const holderPid = Number(output.split('\n')[0]);
  process.kill(holderPid, 'SIGKILL');
  while (!readFileSync(`/proc/${holderPid}/stat`, 'utf8').includes(') Z ')) await sleep(10);
  const ledger = openLedger(file);
  ledger.close();
  assert.equal(existsSync(`${file}.lock`), false);
});

test('handles opened in one process share the lock, which goes with the last close', () => {
  const file = path.join(tempDir(), 'clerk.db');
  const first = openLedger(file);
  const second = openLedger(file);
  first.close();
  assert.equal(existsSync(`${file}.lock`), true);
  second.close();
  assert.equal(existsSync(`${file}.lock`), false);
});

test('a takeover left half-done by a process that died is cleared once it is old; a fresh one is named in the refusal', () => {
  const file = path.join(tempDir(), 'clerk.db');
  const deadOwner = JSON.stringify({ pid: 2 ** 22 + 7, host: os.hostname(), startedAt: '2020-01-01T00:00:00.000Z' });
  writeFileSync(`${file}.lock`, deadOwner);
  writeFileSync(`${file}.lock.takeover`, '');
  assert.throws(() => openLedger(file), { code: 'ledger.locked', message: new RegExp(`delete ${file}\\.lock\\.takeover\\)$`) });
  const longAgo = new Date(Date.now() - 60_000);
  utimesSync(`${file}.lock.takeover`, longAgo, longAgo);
  openLedger(file).close();
  assert.equal(existsSync(`${file}.lock.takeover`), false);
});
