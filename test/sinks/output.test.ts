import assert from 'node:assert/strict';
import { chmodSync, linkSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import type { Envelope } from '../../pipelines/record.ts';
import { ndjsonSink } from '../../sinks/ndjson.ts';
import { contextIn, streamOf, tempDir } from '../sources/context.ts';

function row(seq: number): Envelope {
  return { seq, key: `seq:${seq}`, origin: { file: 'users.csv', line: seq + 1 }, user: { email: `user${seq}@example.com` }, issues: [] };
}

async function sinkInto(file: string, ctx = contextIn(path.dirname(file))) {
  return ndjsonSink.create(ndjsonSink.options.parse({ path: file }), ctx);
}

function emails(file: string): string[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as Envelope).user.email ?? '');
}

test('the file a sink replaces keeps its content until the sink is done (a chain may still be reading it), then holds the new rows', async () => {
  const file = path.join(tempDir(), 'users.ndjson');
  writeFileSync(file, 'the export being read\n');
  let contentMidway = '';
  let standInModes: number[] = [];
  async function* rows() {
    for (let seq = 1; seq <= 3000; seq++) {
      if (seq === 2000) {
        contentMidway = readFileSync(file, 'utf8');
        const dir = path.dirname(file);
        standInModes = readdirSync(dir)
          .filter((name) => name.startsWith('.users.ndjson.authpipe-'))
          .map((name) => statSync(path.join(dir, name)).mode & 0o777);
      }
      yield row(seq);
    }
  }
  await (await sinkInto(file))(rows());
  assert.equal(contentMidway, 'the export being read\n');
  // It may hold password hashes: its owner's alone until it is whole.
  assert.deepEqual(standInModes, [0o600]);
  assert.equal(emails(file).length, 3000);
  // A file replaced keeps its mode (see below); a new one is its owner's alone, as the ledger is.
  const created = path.join(tempDir(), 'new.ndjson');
  await (await sinkInto(created))(rows());
  assert.equal(statSync(created).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(path.dirname(file)), ['users.ndjson']);
});

test('a sink whose input fails leaves the old file as it was, and nothing else behind', async () => {
  const file = path.join(tempDir(), 'users.ndjson');
  writeFileSync(file, 'the last good output\n');
  async function* failing() {
    yield row(1);
    throw new Error('disk gone');
  }
  await assert.rejects((await sinkInto(file))(failing()), /disk gone/);
  assert.equal(readFileSync(file, 'utf8'), 'the last good output\n');
  assert.deepEqual(readdirSync(path.dirname(file)), ['users.ndjson']);
});

test('through a link, the file it points to is replaced and the link stays', async () => {
  const dir = tempDir();
  const target = path.join(dir, 'real.ndjson');
  writeFileSync(target, 'old\n');
  const link = path.join(dir, 'link.ndjson');
  symlinkSync(target, link);
  await (await sinkInto(link))(streamOf([row(1)]));
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.deepEqual(emails(target), ['user1@example.com']);
});

test('a run that stops short (its input failed partway) keeps the file it would replace, and sets its own rows aside', async () => {
  const file = path.join(tempDir(), 'users.ndjson');
  writeFileSync(file, 'the last whole output\n');
  const ctx = contextIn(path.dirname(file));
  async function* cutShort() {
    yield row(1);
    ctx.incomplete.abort(new Error('the input failed'));
  }
  await (await sinkInto(file, ctx))(cutShort());
  assert.equal(readFileSync(file, 'utf8'), 'the last whole output\n');
  assert.deepEqual(emails(`${file}.partial`), ['user1@example.com']);
  assert.deepEqual(readdirSync(path.dirname(file)).sort(), ['users.ndjson', 'users.ndjson.partial']);

  // The run again, to its end: its file supersedes the rows set aside, which may hold hashes.
  await (await sinkInto(file))(streamOf([row(1), row(2)]));
  assert.deepEqual(readdirSync(path.dirname(file)).sort(), ['users.ndjson']);
});

test('keeps the mode of the file it replaces, exactly, and warns when it lets others read; a file with other names (a hard link) stays that file, whole until the sink is done', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'users.ndjson');
  writeFileSync(file, 'old\n');
  chmodSync(file, 0o664);
  const warnings: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => warnings.push(line) > 0 }) };
  await (await sinkInto(file, ctx))(streamOf([row(1)]));
  assert.equal(statSync(file).mode & 0o777, 0o664);
  assert.deepEqual(warnings, [
    `warning: ${file} keeps its mode (664), which lets others read it, and its rows hold emails and may hold password hashes: \`chmod 600\` it, or write a new file\n`,
  ]);
  writeFileSync(path.join(dir, 'users.ndjson.before'), readFileSync(file));

  const otherName = path.join(dir, 'other.ndjson');
  linkSync(file, otherName);
  let contentMidway = '';
  async function* rows() {
    for (let seq = 2; seq <= 3000; seq++) {
      if (seq === 2000) contentMidway = readFileSync(otherName, 'utf8');
      yield row(seq);
    }
  }
  await (await sinkInto(file))(rows());
  // Whole until the sink is done, as when no other name links to it.
  assert.equal(contentMidway, readFileSync(path.join(dir, 'users.ndjson.before'), 'utf8'));
  assert.equal(emails(otherName).length, 2999);
  assert.equal(statSync(otherName).ino, statSync(file).ino);
});

test('through a link to a file not there yet, that file is written and the link stays', async () => {
  const dir = tempDir();
  const link = path.join(dir, 'link.ndjson');
  symlinkSync(path.join(dir, 'later.ndjson'), link);
  await (await sinkInto(link))(streamOf([row(1)]));
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.deepEqual(emails(path.join(dir, 'later.ndjson')), ['user1@example.com']);
});

test('a write the disk refuses (full: ENOSPC) fails the run naming the output file', async () => {
  // /dev/full takes the open and refuses every write, as a full disk does.
  const rows = Array.from({ length: 100 }, (_, index) => row(index + 1));
  await assert.rejects((await sinkInto('/dev/full', contextIn(tempDir())))(streamOf(rows)), {
    code: 'sink.file_unwritable',
    message: 'cannot write output file /dev/full (ENOSPC)',
  });
});
