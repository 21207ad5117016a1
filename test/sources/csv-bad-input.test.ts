import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import type { Envelope } from '../../pipelines/record.ts';
import { csvSource } from '../../sources/csv.ts';
import { collect, contextIn, fileWith } from './context.ts';

async function readCsv(content: string) {
  const { dir, file } = fileWith('users.csv', content);
  return collect(csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir)));
}

async function readWithWarnings(content: string): Promise<{ envelopes: Envelope[]; warnings: string[] }> {
  const { dir, file } = fileWith('users.csv', content);
  const warnings: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(warnings.push(line)) }) };
  return { envelopes: await collect(csvSource.create(csvSource.options.parse({ path: file }), ctx)), warnings };
}

async function warningsReading(content: string): Promise<string[]> {
  return (await readWithWarnings(content)).warnings;
}

test('turns a row with too few cells into an error issue naming file, line and counts, and reads on', async () => {
  const envelopes = await readCsv('id,email,name\nu1,ana@example.com,Ana\nu2,bo@example.com\nu3,cy@example.com,Cy\n');
  assert.deepEqual(envelopes[1], {
    seq: 2,
    key: 'seq:2',
    origin: { file: 'users.csv', line: 3 },
    user: {},
    raw: { id: 'u2', email: 'bo@example.com' },
    issues: [{ stage: 'csv', code: 'csv.ragged_row', level: 'error', message: 'users.csv:3: expected 3 cells (one per column), got 2' }],
  });
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.origin.line, envelope.issues.length]),
    [
      [1, 2, 0],
      [2, 3, 1],
      [3, 4, 0],
    ],
  );
});

test('keeps every cell of a row with too many cells, those past the last column apart, and flags it', async () => {
  const envelopes = await readCsv('id,email\nu1,ana@example.com,surplus,more\nu2,bo@example.com\n');
  assert.deepEqual(envelopes[0].raw, { id: 'u1', email: 'ana@example.com', '(cells past the last column)': ['surplus', 'more'] });
  assert.deepEqual(envelopes[0].issues, [
    { stage: 'csv', code: 'csv.ragged_row', level: 'error', message: 'users.csv:2: expected 2 cells (one per column), got 4' },
  ]);
  assert.deepEqual(envelopes[1].issues, []);
});

test('reports a quote left open on the last line as never closed, on the line where its record starts', async () => {
  const envelopes = await readCsv('email,name\nana@example.com,Ana\nbo@example.com,"Bo\n');
  assert.deepEqual(envelopes, [
    { seq: 1, key: 'seq:1', origin: { file: 'users.csv', line: 2 }, user: {}, raw: { email: 'ana@example.com', name: 'Ana' }, issues: [] },
    {
      seq: 2,
      key: 'seq:2',
      origin: { file: 'users.csv', line: 3 },
      user: {},
      raw: {},
      issues: [{ stage: 'csv', code: 'csv.parse_error', level: 'error', message: 'users.csv:3: a quote opened in this record is never closed' }],
    },
  ]);
});

const RUNAWAY = 'a quote opened on this line is not closed where its row ends, so the row is left out; the lines after it are read as rows';

/** Per envelope: its line, its email, and its issues' messages. */
function summary(envelopes: Envelope[]) {
  return envelopes.map((envelope) => [envelope.origin.line, envelope.raw?.email, envelope.issues.map((issue) => issue.message)]);
}

test('leaves out the row where a stray quote opens, and reads the rows it swallowed up to where a later quote closed it', async () => {
  const envelopes = await readCsv('email,name,last\na@x.com,A,A\nb@x.com,"Bobby,B\nc@x.com,C,C\nd@x.com,D,D\ne@x.com,E,"O"Neil\nf@x.com,F,F\n');
  assert.deepEqual(summary(envelopes), [
    [2, 'a@x.com', []],
    [3, undefined, [`users.csv:3: ${RUNAWAY}`]],
    [4, 'c@x.com', []],
    [5, 'd@x.com', []],
    [6, 'e@x.com', []],
    [7, 'f@x.com', []],
  ]);
});

test('leaves out the row of a stray quote that pairs with a later one, and keeps the rows in between', async () => {
  const envelopes = await readCsv('id,name,email\n1,"Bob,bob@x.com\n2,Ann "Annie" Lee,ann@x.com\n3,Cy,cy@x.com\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues.map((issue) => issue.message)]),
    [
      [2, {}, [`users.csv:2: ${RUNAWAY}`]],
      [3, { id: '2', name: 'Ann "Annie" Lee', email: 'ann@x.com' }, []],
      [4, { id: '3', name: 'Cy', email: 'cy@x.com' }, []],
    ],
  );
});

test('a stray quote closed by a later quote just before a delimiter never passes one user off under another id', async () => {
  // The quote on line 3 closes at line 5's `6'5",`: the merged record has as many cells as the header, and its name
  // cell holds line 3's email and hash; it took the users of lines 4 and 5 with it.
  const envelopes = await readCsv(
    'id,name,email,hash\nu1,Al,a@x.com,\nu2,"Bobby,b@x.com,$2a$10$secret\nu3,Cy,c@x.com,\nu4,Dwayne 6\'5",d@x.com,$2a$10$other\nu5,Ed,e@x.com,\n',
  );
  assert.deepEqual(summary(envelopes), [
    [2, 'a@x.com', []],
    [3, undefined, [`users.csv:3: ${RUNAWAY}`]],
    [4, 'c@x.com', []],
    [5, 'd@x.com', []],
    [6, 'e@x.com', []],
  ]);
  assert.equal(envelopes[3].raw?.name, 'Dwayne 6\'5"');
});

test('a stray quote closed a line later, in a ragged row, gives back the row it took in', async () => {
  const envelopes = await readCsv('id,name,email,hash\nu1,Al,"a@x.com,h1\nu2,Bea 2",b@x.com,h2\nu3,Cy,c@x.com,h3\n');
  assert.deepEqual(summary(envelopes), [
    [2, undefined, [`users.csv:2: ${RUNAWAY}`]],
    [3, 'b@x.com', []],
    [4, 'c@x.com', []],
  ]);
});

test('a stray quote in the last cell, closed at the end of the next line, gives back the user it took in', async () => {
  const envelopes = await readCsv('email,external_id,first_name\nana@x.com,crm-1,"Ana\nbob@x.com,crm-2,Bob"\ncarl@x.com,crm-3,Carl\n');
  assert.deepEqual(summary(envelopes), [
    [2, undefined, [`users.csv:2: ${RUNAWAY}`]],
    [3, 'bob@x.com', []],
    [4, 'carl@x.com', []],
  ]);
  assert.equal(envelopes[1].raw?.first_name, 'Bob"');
});

test('keeps legitimate multi-line cells with delimiters in them: a note, an address', async () => {
  const envelopes = await readCsv(
    'email,name,note\na@x.com,Ann,"Likes cats, dogs,\nand birds"\nb@x.com,Bo,"1 Main St,\nApt 2"\nc@x.com,Cy,"12 Main St, Apt 4\nSpringfield, IL"\nd@x.com,Di,x\n',
  );
  assert.deepEqual(summary(envelopes), [
    [2, 'a@x.com', []],
    [4, 'b@x.com', []],
    [6, 'c@x.com', []],
    [8, 'd@x.com', []],
  ]);
  assert.equal(envelopes[2].raw?.note, '12 Main St, Apt 4\nSpringfield, IL');
  assert.equal(envelopes[0].raw?.note, 'Likes cats, dogs,\nand birds');
});

test('keeps multi-line cells whose lines hold as many commas as a row, written as prose: no row made up from them', async () => {
  const envelopes = await readCsv(
    'email,name,notes\nann@x.com,Ann Lee,"Assistant handles billing:\nbob@x.com, Bob Ray, ext 42"\ncat@x.com,Cat Doe,"1 Main St, Apt 4\nSpringfield, IL, 62701"\ndan@x.com,Dan,x\n',
  );
  assert.deepEqual(summary(envelopes), [
    [2, 'ann@x.com', []],
    [4, 'cat@x.com', []],
    [6, 'dan@x.com', []],
  ]);
  assert.equal(envelopes[0].raw?.notes, 'Assistant handles billing:\nbob@x.com, Bob Ray, ext 42');
});

test('keeps a multi-line cell followed on its last line by quoted cells holding delimiters (role lists, JSON metadata), as the workos-csv layout writes them', async () => {
  const envelopes = await readCsv(
    'email,first_name,external_id,metadata,role_slugs\nann@x.com,"Ann\nMarie",ext-1,"{""plan"":""pro"",""seats"":5}","admin,billing"\nbob@x.com,Bob,ext-2,,member\n',
  );
  assert.deepEqual(summary(envelopes), [
    [2, 'ann@x.com', []],
    [4, 'bob@x.com', []],
  ]);
  assert.deepEqual(envelopes[0].raw, { email: 'ann@x.com', first_name: 'Ann\nMarie', external_id: 'ext-1', metadata: '{"plan":"pro","seats":5}', role_slugs: 'admin,billing' });
});

test('in a file that puts a space after each comma, a stray quote that swallowed rows is still found by them', async () => {
  const envelopes = await readCsv('id, email, name\nu1, ana@x.com,"Ana\nu2, bob@x.com, Bob\nu3, carl@x.com, 6\'5"\nu4, dina@x.com, Dina\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw?.[' email'], envelope.issues.map((issue) => issue.message)]),
    [
      [2, undefined, [`users.csv:2: ${RUNAWAY}`]],
      [3, ' bob@x.com', []],
      [4, ' carl@x.com', []],
      [5, ' dina@x.com', []],
    ],
  );
});

test('keeps a legitimate multi-line cell that opens with an escaped quote', async () => {
  const envelopes = await readCsv('id,name,email\nu1,"""The Rock""\nJohnson",r@x.com\nu2,Bea,b@x.com\n');
  assert.deepEqual(summary(envelopes), [
    [2, 'r@x.com', []],
    [4, 'b@x.com', []],
  ]);
  assert.equal(envelopes[0].raw?.name, '"The Rock"\nJohnson');
});

test('keeps a legitimate multi-line cell in a ragged row: one ragged row, no row made up from inside the cell', async () => {
  const rows = Array.from({ length: 2000 }, (_, index) => `${index},"line one\nline two",`);
  const envelopes = await readCsv(['id,note', ...rows, '5,six', ''].join('\n'));
  assert.equal(envelopes.length, 2001);
  assert.deepEqual(
    [envelopes[0], envelopes[1999]].map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues.map((issue) => issue.code)]),
    [
      [2, { id: '0', note: 'line one\nline two', '(cells past the last column)': [''] }, ['csv.ragged_row']],
      [4000, { id: '1999', note: 'line one\nline two', '(cells past the last column)': [''] }, ['csv.ragged_row']],
    ],
  );
  assert.deepEqual(summary(envelopes.slice(-1)), [[4002, undefined, []]]);
});

test('stops with csv.bad_header when a quote in the header row is not closed on its line, rather than taking a row for the header', async () => {
  for (const content of ['a,"b\n1,2\n3,4\n', 'a,"b\n1,2"\n3,4\n5,6\n']) {
    await assert.rejects(readCsv(content), {
      code: 'csv.bad_header',
      message: 'users.csv:1: the header row cannot be read: a quote opened in it is not closed on its line',
    });
  }
});

test('reads every row after a quote that is never closed, with their own lines', async () => {
  const rows = Array.from({ length: 3000 }, (_, index) => `user${index}@x.com,U${index}`);
  const envelopes = await readCsv(['email,name', 'a@x.com,"Ana', ...rows, ''].join('\r\n'));
  assert.equal(envelopes.length, 3001);
  assert.deepEqual(summary(envelopes.slice(0, 2)), [
    [2, undefined, [`users.csv:2: ${RUNAWAY}`]],
    [3, 'user0@x.com', []],
  ]);
  assert.deepEqual(summary(envelopes.slice(-1)), [[3002, 'user2999@x.com', []]]);
});

test('gives up on a quote still open after 8 MiB and reads the rows after its line', async () => {
  const rows = Array.from({ length: 100_000 }, (_, index) => `user${index}@x.com,${'n'.repeat(80)}`);
  const envelopes = await readCsv(['email,name', 'a@x.com,"Ana', ...rows, ''].join('\n'));
  assert.equal(envelopes.length, 100_001);
  assert.equal(envelopes[0].issues[0].message.replace(/ \(.*/, ''), 'users.csv:2: the record is longer than 8 MiB');
  assert.deepEqual(summary(envelopes.slice(1, 2)), [[3, 'user0@x.com', []]]);
  assert.deepEqual(summary(envelopes.slice(-1)), [[100_002, 'user99999@x.com', []]]);
});

test('leaves out a single line longer than 8 MiB and reads on at the next line', async () => {
  const envelopes = await readCsv(`email,name\na@x.com,${'n'.repeat(9 << 20)}\nb@x.com,Bo\n`);
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw?.email, envelope.issues.map((issue) => issue.code)]),
    [
      [2, undefined, ['csv.parse_error']],
      [3, 'b@x.com', []],
    ],
  );
});

test('keeps stray quotes inside cells as text instead of merging the rows that follow', async () => {
  const envelopes = await readCsv('email,name\nana@example.com,Ana "AJ" Silva\nbo@example.com,"Bo"x\ncy@example.com,Cy\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw?.name]),
    [
      [2, 'Ana "AJ" Silva'],
      [3, '"Bo"x'],
      [4, 'Cy'],
    ],
  );
});

test('does not repeat cell contents, such as a password hash, in a parse error message', async () => {
  const hash = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
  const envelopes = await readCsv(`email,password_digest\nana@example.com,"${hash}\n`);
  assert.equal(envelopes[0].issues[0].code, 'csv.parse_error');
  assert.ok(!envelopes[0].issues[0].message.includes(hash));
});

test('skips the rows of empty cells a spreadsheet pads an export with, and keeps counting their lines', async () => {
  const envelopes = await readCsv('email,name\nana@example.com,Ana\n,\n , \nbo@example.com,Bo\n,\n,\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.origin.line, envelope.issues]),
    [
      [1, 2, []],
      [2, 5, []],
    ],
  );
});

test('stops with csv.no_header when the first row holds an email or a hash, without repeating it', async () => {
  const rows = ['user_1,Ana,ana@example.com,$2a$10$secrethash', 'user_2,Bo,bo@example.com,$2a$10$otherhash'];
  for (const [content, holds] of [
    [rows.join('\n'), 'column 3 holds an email address'],
    ['user_1,Ana,$2a$10$secrethash\n', 'column 3 holds what looks like a password hash'],
    // A user without an email first: their phone number or their hash in another format gives the row away.
    ['user_2nE08,Gustavo,,+5511999990000,pbkdf2_sha256\n', 'column 4 holds a phone number'],
    ['user_2nE08,Gustavo,,pbkdf2_sha256$27500$AAECAwQFBgcICQoLDA0ODw==$s+0/Lo8Z8qlEYCPLl1oc=,pbkdf2_sha256\n', 'column 4 holds what looks like a password hash'],
    ['user_2nE08,Gustavo,5f4dcc3b5aa765d61d8327deb882cf99,md5\n', 'column 3 holds what looks like a password hash'],
    ['user_2nE08,Gustavo,X03MO1qnZdYdgyfeuILPmQ8Hm6TVW1q4Zg9jLhRpCiY=,sha256\n', 'column 3 holds what looks like a password hash'],
    ['user_2nE08,Gustavo,X03MO1qnZdYdgyfeuILPmQ8Hm6TVW1q4Zg9jLhRpCiY,sha256\n', 'column 3 holds what looks like a password hash'],
  ]) {
    await assert.rejects(readCsv(content), {
      code: 'csv.no_header',
      message: `users.csv:1: the first row looks like a user, not column names (${holds}); if the file has no header row, name its columns with the \`columns\` option (--columns for \`read csv\`)`,
    });
  }
});

test('takes analytics-style column names ($email, @timestamp), long snake_case ones and Salesforce ones for a header', async () => {
  const envelopes = await readCsv('distinct_id,$email,@timestamp,unverified_email_addresses_of_the_user,Secondary_Contact_Email_Address_2__c\nu1,ana@example.com,2024-01-01,,\n');
  assert.deepEqual(envelopes[0].raw, {
    distinct_id: 'u1',
    $email: 'ana@example.com',
    '@timestamp': '2024-01-01',
    unverified_email_addresses_of_the_user: '',
    Secondary_Contact_Email_Address_2__c: '',
  });
});

test('warns that an empty, blank or header-only file held no records, rather than passing for a finished export', async () => {
  assert.deepEqual(await warningsReading(''), ['warning: users.csv: no records read (the file is empty or blank)\n']);
  assert.deepEqual(await warningsReading('\n\n  \n'), ['warning: users.csv: no records read (the file is empty or blank)\n']);
  assert.deepEqual(await warningsReading('email,name\r\n'), ['warning: users.csv: no records read (only a header row)\n']);
  assert.deepEqual(await warningsReading('email,name\nana@example.com,Ana\n'), []);
});

test('numbers a repeated header name instead of letting its cells overwrite the first column, and warns', async () => {
  const { envelopes, warnings } = await readWithWarnings('email,name,email,email\na@x.com,Ana,b@x.com,c@x.com\n');
  assert.deepEqual(envelopes[0].raw, { email: 'a@x.com', name: 'Ana', email_2: 'b@x.com', email_3: 'c@x.com' });
  assert.deepEqual(warnings, ['warning: users.csv:1: the header names column "email" 2 more times; they are read as "email_2" and "email_3"\n']);
  const once = await readWithWarnings('email,name,email\na@x.com,Ana,b@x.com\n');
  assert.deepEqual(once.warnings, ['warning: users.csv:1: the header names column "email" again; this one is read as "email_2"\n']);
});

test('a header padded by a spreadsheet with thousands of empty columns gives one warning, and is read at once', async () => {
  const { envelopes, warnings } = await readWithWarnings(`email,name${','.repeat(16_382)}\na@x.com,Ana${','.repeat(16_382)}\n`);
  assert.equal(envelopes[0]?.raw?.email, 'a@x.com');
  assert.deepEqual(warnings, ['warning: users.csv:1: the header names column "" 16381 more times; they are read as "_2" to "_16382"\n']);
});

test('with no delimiter set, a header row of one column holding a semicolon, a tab or a bar is read with that one, and says so', async () => {
  for (const [delimiter, shown] of [
    [';', ';'],
    ['\t', 'tab'],
    ['|', '|'],
  ]) {
    const { envelopes, warnings } = await readWithWarnings(`email${delimiter}first_name\nana@example.com${delimiter}"Ana, Jr"\nbo@example.com${delimiter}Bo\n`);
    assert.deepEqual(
      envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
      [
        [2, { email: 'ana@example.com', first_name: 'Ana, Jr' }, []],
        [3, { email: 'bo@example.com', first_name: 'Bo' }, []],
      ],
    );
    assert.deepEqual(warnings, [`warning: users.csv:1: the header row separates its columns with "${shown}", so the file is read with it (set the source's delimiter to read it otherwise)\n`]);
  }
  assert.deepEqual(await warningsReading('email\nana@example.com\n'), []);
});

test('a delimiter set to a comma keeps a header of one column holding a semicolon as it is, and suggests the delimiter to set', async () => {
  const { dir, file } = fileWith('users.csv', 'email;first_name\nana@example.com;Ana\n');
  const warnings: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(warnings.push(line)) }) };
  const envelopes = await collect(csvSource.create(csvSource.options.parse({ path: file, delimiter: ',' }), ctx));
  assert.deepEqual(envelopes[0]?.raw, { 'email;first_name': 'ana@example.com;Ana' });
  assert.deepEqual(warnings, [
    `warning: users.csv:1: the header row is one column holding ";": if the file separates its cells with ";", set the source's delimiter (--delimiter ';')\n`,
  ]);
});
