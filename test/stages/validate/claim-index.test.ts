import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ClaimIndex, type Claim, type ClaimIndexLimits } from '../../../stages/validate/claim-index.ts';
import { tempDir } from '../../sources/context.ts';

/** Small enough that a few thousand rows go through many flushes and several merges of the runs on disk. */
const SMALL: ClaimIndexLimits = { recentClaims: 64, runsPerMerge: 3 };

function indexIn(limits = SMALL): { index: ClaimIndex; folder: string } {
  const folder = tempDir();
  return { index: new ClaimIndex(folder, limits), folder };
}

function origin(line: number) {
  return { file: 'users.csv', line };
}

/** A reproducible stream of pseudo-random numbers, so a failure can be replayed. */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state >>> 8;
  };
}

test('answers exactly like a Set across flushes and merges, naming the first holder', () => {
  const { index } = indexIn();
  const expected = new Map<string, string>();
  const next = numbers(7);
  let taken = 0;
  for (let line = 2; line < 6000; line++) {
    // About one value in eight repeats one seen anywhere before, near or far.
    const pick = () => (next() % 8 === 0 ? next() % line : line);
    const claims: Claim[] = [
      { kind: 'email', value: `person${pick()}@example.com` },
      { kind: 'externalId', value: `user_${pick()}` },
    ];
    const want = claims.map((claim) => expected.get(`${claim.kind} ${claim.value}`));
    assert.deepEqual(index.claimRow(claims, origin(line)), want, `line ${line}`);
    if (want.some((holder) => holder !== undefined)) taken++;
    else for (const claim of claims) expected.set(`${claim.kind} ${claim.value}`, `users.csv:${line}`);
  }
  assert.ok(taken > 1000, `only ${taken} rows met a taken value`);
  index.close();
});

test('an email and an external id with the same text do not collide', () => {
  const { index } = indexIn();
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'same' }], origin(2)), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: 'same' }], origin(3)), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: 'same' }], origin(4)), ['users.csv:3']);
  index.close();
});

test('a refused row holds none of its values, whether the taken one is in memory or on disk', () => {
  const { index } = indexIn();
  index.claimRow([{ kind: 'email', value: 'ana@example.com' }], origin(2));
  // Pushes the first claim out to a run on disk.
  for (let line = 3; line < 300; line++) index.claimRow([{ kind: 'email', value: `filler${line}@example.com` }], origin(line));
  const refused = index.claimRow(
    [
      { kind: 'email', value: 'ana@example.com' },
      { kind: 'externalId', value: 'user_new' },
    ],
    origin(300),
  );
  assert.deepEqual(refused, ['users.csv:2', undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: 'user_new' }], origin(301)), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: 'user_new' }], origin(302)), ['users.csv:301']);
  index.close();
});

test('keeps unicode values and holders, and a value longer than its memory arena', () => {
  const { index } = indexIn();
  const long = `user_${'x'.repeat(5_000_000)}`;
  const jsonOrigin = { file: 'users.json', page: 'users[41]' };
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'józef@exämple.com' }], jsonOrigin), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: long }], origin(3)), [undefined]);
  for (let line = 4; line < 300; line++) index.claimRow([{ kind: 'email', value: `filler${line}@example.com` }], origin(line));
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'józef@exämple.com' }], origin(300)), ['users.json users[41]']);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: long }], origin(301)), ['users.csv:3']);
  assert.deepEqual(index.claimRow([{ kind: 'externalId', value: `${long}y` }], origin(302)), [undefined]);
  index.close();
});

test('names the file of the first holder when rows come from several, held in memory or on disk', () => {
  const { index } = indexIn();
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'ana@example.com' }], { file: 'january.csv', line: 7 }), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'bo@example.com' }], { file: 'february.csv', line: 7 }), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'cy@example.com' }], { line: 9 }), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'bo@example.com' }], origin(2)), ['february.csv:7']);
  for (let line = 3; line < 300; line++) index.claimRow([{ kind: 'email', value: `filler${line}@example.com` }], origin(line));
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'ana@example.com' }], origin(300)), ['january.csv:7']);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'cy@example.com' }], origin(301)), ['input:9']);
  index.close();
});

test('names a holder whose line no slot can hold (a hand-edited envelope) as it was given', () => {
  const { index } = indexIn();
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'ana@example.com' }], origin(4_294_967_301)), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'bo@example.com' }], origin(-1)), [undefined]);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'ana@example.com' }], origin(2)), ['users.csv:4294967301']);
  assert.deepEqual(index.claimRow([{ kind: 'email', value: 'bo@example.com' }], origin(3)), ['users.csv:-1']);
  index.close();
});
test('its files on disk hold emails, so only their owner may read them', () => {
  const { index, folder } = indexIn();
  for (let line = 2; line < 300; line++) index.claimRow([{ kind: 'email', value: `person${line}@example.com` }], origin(line));
  const files = readdirSync(folder);
  assert.ok(files.length > 1, `expected the values file and a run, found ${files.join(', ')}`);
  for (const file of files) assert.equal(statSync(path.join(folder, file)).mode & 0o777, 0o600, file);
  index.close();
});
