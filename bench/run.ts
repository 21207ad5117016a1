// `npm run bench`: generates Clerk exports and measures each case in its own process, so peak RSS is
// the case's own. Numbers go to BENCHMARKS.md by hand, with the machine and the date. The cases alternate
// BENCH_REPEATS times (default 3) and the median time of each is compared: on a shared VM the same case
// varies by tens of percent from one run to the next.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeClerkExport } from '../fixtures/generate/clerk.ts';

interface CaseResult {
  rows: number;
  ms: number;
  maxRssMb: number;
}

const sizes = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const workDir = path.join(os.tmpdir(), 'authpipe-bench');
mkdirSync(workDir, { recursive: true });
// The CLI builds itself on first use or after an edit (bin/authpipe.js): done here, so no timed run includes it.
spawnSync(process.execPath, [path.join(import.meta.dirname, '../bin/authpipe.js'), '--version']);

/** Exit 3 is the CLI's "finished, some rows invalid": the generated exports have nasty rows on purpose. */
function runCase(script: string, ...args: string[]): CaseResult {
  const { status, stdout, stderr } = spawnSync(process.execPath, [path.join(import.meta.dirname, 'cases', script), ...args], { encoding: 'utf8' });
  if (status !== 0 && status !== 3) throw new Error(`${script} exited with ${status}: ${stderr}`);
  return JSON.parse(stdout) as CaseResult;
}

function median(results: CaseResult[]): CaseResult {
  return [...results].sort((a, b) => a.ms - b.ms)[Math.floor(results.length / 2)];
}

console.log(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}`);
console.log(`median of ${repeats} alternating runs; peak RSS is the highest of the pipeline's runs`);
console.log('| rows | csv-parse alone | read csv / map clerk / validate / write ndjson | ratio of medians | ratio per pair: median (range) | peak RSS (pipeline) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const rows of sizes) {
  const file = path.join(workDir, `clerk-export-${rows}.csv`);
  if (!existsSync(file)) await writeClerkExport(file, rows);
  const output = path.join(workDir, `clerk-${rows}.ndjson`);
  const baselines: CaseResult[] = [];
  const pipelines: CaseResult[] = [];
  for (let run = 0; run < repeats; run++) {
    baselines.push(runCase('csv-parse-only.mjs', file));
    pipelines.push(runCase('clerk-pipeline.mjs', file, output, String(rows)));
  }
  rmSync(output, { force: true });
  rmSync(`${output}.yaml`, { force: true });
  const baseline = median(baselines);
  const pipeline = { ...median(pipelines), maxRssMb: Math.max(...pipelines.map((result) => result.maxRssMb)) };
  // Each pipeline run against the baseline run just before it: the VM's speed drifts by tens of percent over minutes,
  // much less between two runs back to back.
  const ratios = pipelines.map((result, run) => result.ms / baselines[run].ms).sort((a, b) => a - b);
  const pairRatios = `${ratios[Math.floor(ratios.length / 2)].toFixed(2)}x (${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)})`;
  const rate = (result: CaseResult) => `${(result.ms / 1000).toFixed(2)} s (${Math.round(result.rows / (result.ms / 1000)).toLocaleString('en')} rows/s)`;
  console.log(`| ${rows.toLocaleString('en')} | ${rate(baseline)} | ${rate(pipeline)} | ${(pipeline.ms / baseline.ms).toFixed(2)}x | ${pairRatios} | ${pipeline.maxRssMb.toFixed(0)} MB |`);
}
