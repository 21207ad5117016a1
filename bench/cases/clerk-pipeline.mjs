// read csv | map clerk | validate | write ndjson as a user runs it: `authpipe run` of a pipeline file, through the
// CLI's own launcher, in this process. Time is counted from the process's start (start-up included, as the user
// waits for it); the figures go to stdout once the CLI has exited.
// Usage: clerk-pipeline.mjs CSV_FILE OUTPUT_FILE ROWS
import { writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [file, output, rows] = process.argv.slice(2);
const pipelineFile = `${output}.yaml`;
writeFileSync(
  pipelineFile,
  [
    'version: 1',
    'name: bench',
    `source: { use: csv, path: ${JSON.stringify(file)} }`,
    'stages:',
    '  - { use: map, preset: clerk }',
    '  - { use: validate }',
    `sink: { use: ndjson, path: ${JSON.stringify(output)} }`,
  ].join('\n'),
);
const launcher = fileURLToPath(new URL('../../bin/authpipe.js', import.meta.url));
process.argv = [process.argv[0], launcher, 'run', pipelineFile, '--quiet'];
process.on('exit', () => {
  writeSync(1, JSON.stringify({ rows: Number(rows), ms: performance.now(), maxRssMb: process.resourceUsage().maxRSS / 1024 }));
});
await import(launcher);
