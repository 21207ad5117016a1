import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PipelineFileError, formatProblem } from '../../pipelines/errors.ts';
import { loadPipeline } from '../../pipelines/load.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-load-'));
writeFileSync(path.join(dir, 'users.csv'), 'email\na@example.com\n');

function pipelineFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problemsOf(file: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadPipeline(file, { env });
  } catch (error) {
    if (error instanceof PipelineFileError) return error.problems.map((problem) => formatProblem({ ...problem, file: path.basename(problem.file) }));
    throw error;
  }
  assert.fail('expected the pipeline file to be rejected');
}

test('loads a valid file, resolving paths against the file and applying defaults', () => {
  const file = pipelineFile('ok.yaml', 'version: 1\nname: ok\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson }\n');
  const spec = loadPipeline(file, { env: {} });
  assert.equal(spec.name, 'ok');
  assert.equal(spec.source.component.name, 'csv');
  assert.equal(spec.source.options.path, path.join(dir, 'users.csv'));
  assert.equal(spec.sink.options.path, '-');
  assert.deepEqual(spec.stages, []);
});

test('reports every problem at once, each at its line and column', () => {
  const file = pipelineFile(
    'bad.yaml',
    [
      'version: 1',
      'name: bad',
      'source: { use: csv, path: missing.csv }',
      'stages:',
      '  - use: map',
      '    preest: clerk',
      '  - use: valdate',
      'sink:',
      '  use: ndjson',
      'ledgr: x.db',
      '',
    ].join('\n'),
  );
  const problems = problemsOf(file);
  assert.equal(problems.length, 4);
  assert.match(problems[0], /^bad\.yaml:3:27: source "csv" option path: file not found: .*missing\.csv \[pipeline\.file_not_found\]$/);
  assert.equal(problems[1], 'bad.yaml:6:5: stage "map" has no option "preest" (did you mean "preset"?) [pipeline.unknown_key]');
  assert.match(problems[2], /^bad\.yaml:7:10: unknown stage "valdate" \(did you mean "validate"\?\)/);
  assert.equal(problems[3], 'bad.yaml:10:1: unknown key "ledgr" (did you mean "ledger"?) [pipeline.unknown_key]');
});

test('a misspelt option does not hide a missing file named in the same block', () => {
  const file = pipelineFile('typo-and-missing.yaml', 'version: 1\nname: t\nsource: { use: csv, path: gone.csv, delimter: ";" }\nsink: { use: ndjson }\n');
  const problems = problemsOf(file);
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^typo-and-missing\.yaml:3:27: source "csv" option path: file not found: .*gone\.csv \[pipeline\.file_not_found\]$/);
  assert.match(problems[1], /^typo-and-missing\.yaml:3:37: source "csv" has no option "delimter" \(did you mean "delimiter"\?\)/);
});

test('a wrong top level (a missing name) does not hide the problems of the blocks', () => {
  const file = pipelineFile('top.yaml', 'version: 1\nsource: { use: cvs, path: users.csv }\nsink: { use: workoss }\n');
  assert.deepEqual(problemsOf(file), [
    'top.yaml:1:1: name: missing [pipeline.invalid]',
    'top.yaml:2:16: unknown source "cvs" (did you mean "csv"?); known: csv, ndjson, json, ledger [pipeline.unknown_component]',
    'top.yaml:3:14: unknown sink "workoss" (did you mean "workos"?); known: ndjson, csv, workos [pipeline.unknown_component]',
  ]);
});

test('reports a folder named where a file is read or written, before any row is read', () => {
  const file = pipelineFile('folders.yaml', `version: 1\nname: f\nsource: { use: csv, path: ${dir} }\nsink: { use: ndjson, path: ${dir} }\n`);
  const problems = problemsOf(file);
  assert.deepEqual(
    problems.map((problem) => problem.replace(dir, 'DIR')),
    [
      'folders.yaml:3:27: source "csv" option path: is a folder, not a file: DIR [pipeline.path_is_folder]',
      'folders.yaml:4:28: sink "ndjson" option path: is a folder, not a file: DIR [pipeline.path_is_folder]',
    ],
  );
});

test('a folder given as the pipeline file is a usage error naming it', () => {
  assert.throws(() => loadPipeline(dir), { code: 'pipeline.not_a_file', message: `pipeline file is a folder, not a file: ${dir}` });
});

/** The messages of the problems a valid file has once `sets` are applied. */
function setProblemMessages(sets: string[]): string[] {
  const file = pipelineFile('set.yaml', 'version: 1\nname: s\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson }\n');
  try {
    loadPipeline(file, { env: {}, sets });
  } catch (error) {
    assert.ok(error instanceof PipelineFileError);
    return error.problems.map((problem) => problem.message);
  }
  assert.fail('expected the --set value to be rejected');
}

test('a problem in a value given by --set says so, since the file itself is fine', () => {
  assert.deepEqual(setProblemMessages(['sink.pth=out.ndjson']), ['sink "ndjson" has no option "pth" (did you mean "path"?) (given by --set sink.pth=...)']);
});

test('a misspelt --set never repeats its value, which may be a secret', () => {
  assert.deepEqual(setProblemMessages(['sink.apikey=sk_live_SUPERSECRET123']), ['sink "ndjson" has no option "apikey" (given by --set sink.apikey=...)']);
});

test('a path given by --set is relative to the current folder, as on any command line; one in the file, to the file', () => {
  const pipelines = mkdtempSync(path.join(dir, 'pipelines-'));
  const file = path.join(pipelines, 'relative.yaml');
  writeFileSync(file, 'version: 1\nname: r\nsource: { use: csv, path: ../users.csv }\nsink: { use: ndjson, path: rows.ndjson }\nledger: state.db\n');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const spec = loadPipeline(file, { env: {}, sets: ['source.path=users.csv', 'ledger=mine.db'] });
    assert.equal(spec.source.options.path, path.join(dir, 'users.csv'));
    assert.equal(spec.sink.options.path, path.join(pipelines, 'rows.ndjson'));
    assert.equal(spec.ledger, path.join(dir, 'mine.db'));
    const whole = loadPipeline(file, { env: {}, sets: ['sink={use: ndjson, path: out.ndjson}'] });
    assert.equal(whole.sink.options.path, path.join(dir, 'out.ndjson'));
  } finally {
    process.chdir(cwd);
  }
});

test('a misspelt first key in a --set path says which --set made it', () => {
  assert.deepEqual(setProblemMessages(['sourc.path=users.csv']), ['unknown key "sourc" (did you mean "source"?) (given by --set sourc.path=...)']);
});

test('reports an output file whose folder does not exist, before any row is read', () => {
  const file = pipelineFile('out.yaml', 'version: 1\nname: o\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: nowhere/rows.ndjson }\n');
  assert.deepEqual(problemsOf(file), [`out.yaml:4:28: sink "ndjson" option path: folder not found: ${path.join(dir, 'nowhere')} [pipeline.folder_not_found]`]);
});

test('refuses a sink or a ledger at the path of a file the pipeline reads, which would be overwritten before it is read', () => {
  const file = pipelineFile(
    'same.yaml',
    'version: 1\nname: s\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: ./users.csv }\nledger: users.csv\n',
  );
  const input = path.join(dir, 'users.csv');
  assert.deepEqual(problemsOf(file), [
    `same.yaml:4:28: the sink writes ${input}, which the pipeline reads (source.path); it would be overwritten before it is read [pipeline.overwrites_input]`,
    `same.yaml:4:28: the sink writes ${input}, which is the ledger; name another file [pipeline.overwrites_ledger]`,
    `same.yaml:5:9: the ledger is ${input}, which the pipeline reads (source.path); it would be overwritten before it is read [pipeline.overwrites_input]`,
  ]);
});

test('refuses a sink at the path of the pipeline file itself', () => {
  const file = pipelineFile('self.yaml', 'version: 1\nname: s\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: "${OUT:-out.ndjson}" }\n');
  assert.deepEqual(problemsOf(file, { OUT: 'self.yaml' }), [`self.yaml:4:28: the sink writes ${file}, which is this pipeline file; name another file [pipeline.overwrites_input]`]);
});

test('refuses two outputs at one path (the rejects file at the sink\'s own): the one moved into place last would replace the other', () => {
  const file = pipelineFile('twice.yaml', 'version: 1\nname: t\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: out.ndjson, rejects: ./out.ndjson }\n');
  assert.deepEqual(problemsOf(file), [`twice.yaml:4:49: the sink writes ${path.join(dir, 'out.ndjson')}, which sink.path names too; name another file [pipeline.overwrites_output]`]);
});

test('reports a misspelt key inside an option where it is, with a "did you mean", also inside a field given as {from}', () => {
  const file = pipelineFile(
    'nested.yaml',
    'version: 1\nname: n\nsource: { use: csv, path: users.csv }\nstages:\n  - { use: map, fields: { emial: email, firstName: { form: a } } }\nsink: { use: ndjson }\n',
  );
  assert.deepEqual(problemsOf(file), [
    'nested.yaml:5:27: stage "map" option fields has no key "emial" (did you mean "email"?) [pipeline.unknown_key]',
    'nested.yaml:5:52: stage "map" option fields.firstName.from: missing [pipeline.invalid_option]',
    'nested.yaml:5:54: stage "map" option fields.firstName has no key "form" (did you mean "from"?) [pipeline.unknown_key]',
  ]);
});

test('reports a wrong type at the value', () => {
  const file = pipelineFile('types.yaml', 'version: 1\nname: t\nsource: { use: csv, path: users.csv, delimiter: [";"] }\nsink: { use: ndjson, keepRaw: maybe }\n');
  assert.deepEqual(
    problemsOf(file).map((problem) => problem.replace(/: Invalid input: /, ': ')),
    [
      'types.yaml:3:49: source "csv" option delimiter: expected string, received array [pipeline.invalid_option]',
      'types.yaml:4:31: sink "ndjson" option keepRaw: expected boolean, received string [pipeline.invalid_option]',
    ],
  );
});

test('types a variable or --set value as its option wants it: text stays text, numbers and booleans become them', () => {
  const file = pipelineFile('typed.yaml', 'version: 1\nname: ${RUN}\nsource: { use: csv, path: users.csv, delimiter: ";" }\nsink: { use: ndjson, path: 2024, keepRaw: "${KEEP:-true}" }\n');
  const spec = loadPipeline(file, { env: { RUN: '20240101' } });
  assert.equal(spec.name, '20240101');
  assert.equal(path.basename(String(spec.sink.options.path)), '2024');
  assert.equal(spec.sink.options.keepRaw, true);
  const overridden = loadPipeline(file, { env: { RUN: 'x' }, sets: ['name=0042', 'sink.keepRaw=false'] });
  assert.equal(overridden.name, '0042');
  assert.equal(overridden.sink.options.keepRaw, false);
});

test('reports an unset variable without a default where it is used', () => {
  const file = pipelineFile('vars.yaml', 'version: 1\nname: v\nsource: { use: csv, path: "${INPUT}" }\nsink: { use: ndjson }\n');
  const problems = problemsOf(file);
  assert.equal(problems[0], 'vars.yaml:3:27: environment variable INPUT is not set or is empty (write ${INPUT:-default} to give a default) [pipeline.unset_variable]');
});

test('interpolates variables and defaults before validation', () => {
  const file = pipelineFile('interp.yaml', 'version: 1\nname: ${NAME:-fallback}\nsource: { use: csv, path: "${INPUT}" }\nsink: { use: ndjson }\n');
  const spec = loadPipeline(file, { env: { INPUT: 'users.csv' } });
  assert.equal(spec.name, 'fallback');
  assert.equal(spec.source.options.path, path.join(dir, 'users.csv'));
});

test('an option whose value is only ${VAR:-} is left unset while VAR is unset or empty, and takes its value when set', () => {
  const file = pipelineFile('optional.yaml', 'version: 1\nname: o\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: out.ndjson, rejects: "${REJECTS:-}" }\n');
  for (const env of [{}, { REJECTS: '' }]) assert.equal(loadPipeline(file, { env }).sink.options.rejects, undefined);
  assert.equal(loadPipeline(file, { env: { REJECTS: 'bad.ndjson' } }).sink.options.rejects, path.join(dir, 'bad.ndjson'));
});

test('applies --set overrides before validation', () => {
  const file = pipelineFile('set.yaml', 'version: 1\nname: s\nsource: { use: csv, path: nope.csv }\nsink: { use: ndjson }\n');
  const spec = loadPipeline(file, { env: {}, sets: [`source.path=${path.join(dir, 'users.csv')}`, 'name=renamed'] });
  assert.equal(spec.name, 'renamed');
  assert.equal(spec.source.options.path, path.join(dir, 'users.csv'));
});

test('reports YAML syntax errors with their position', () => {
  const file = pipelineFile('syntax.yaml', 'version: 1\nname: [unclosed\nsource: x\n');
  const [problem] = problemsOf(file);
  assert.match(problem, /^syntax\.yaml:\d+:\d+: .* \[pipeline\.yaml_syntax\]$/);
});

test('says to quote a variable that YAML read as a map inside { }', () => {
  const file = pipelineFile('flow.yaml', 'version: 1\nname: x\nsource: { use: csv, path: users.csv }\nsink: { use: ndjson, path: ${OUT:-rows.ndjson} }\n');
  const [problem] = problemsOf(file);
  assert.match(problem, /^flow\.yaml:4:\d+: .* \(a \$\{VAR\} inside \{ \} must be quoted: "\$\{VAR\}"\) \[pipeline\.yaml_syntax\]$/);
});

test('a --set index past the end of a list says how many entries the list has, not that each before it is missing', () => {
  const file = pipelineFile('indexed.yaml', 'version: 1\nname: s\nsource: { use: csv, path: users.csv }\nstages: [{ use: validate }]\nsink: { use: ndjson }\n');
  assert.throws(() => loadPipeline(file, { sets: ['stages.3.apiKey=sk_live_SECRET'] }), {
    code: 'cli.invalid_set',
    message: '--set stages.3.apiKey=...: stages has 1 entry (stages.0); stages.1 adds one',
  });
});
