// The workos writer against the WorkOS emulator, each in its own process (`npx tsx bench/writer.ts`, run by
// `npm run bench` after bench/run.ts). Budget: enough users for over a minute at 500/10s against an emulator
// that enforces 500/10s, counted from the emulator's own record of requests. Throughput: no budget on
// either side, ledger on. Numbers go to BENCHMARKS.md by hand, with the machine and the date.
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

interface ImportResult {
  rows: number;
  written: number;
  failed: number;
  ms: number;
  /** CPU time of the writer process during the import, to compare runs on a shared machine. */
  cpuMs: number;
  maxRssMb: number;
}

/** One line of the emulator's request record (bench/cases/writer-emulator.ts). */
interface RecordedCall {
  method: string;
  path: string;
  status: number | null;
  at: number;
  accepted: boolean;
}

interface Emulator {
  url: string;
  /** Stops the emulator; its record file is complete once this resolves. */
  stop(): Promise<void>;
}

interface CallStats {
  /** Arrival times (ms) of the writes the API took, in order. */
  writeTimes: number[];
  rateLimited: number;
}

const BUDGET = { limit: 500, windowMs: 10_000, text: '500/10s' };
const GOAL_SHARE = 0.97;
const budgetRows = Number(process.env.BENCH_BUDGET_ROWS ?? 3500);
const throughputRows = Number(process.env.BENCH_THROUGHPUT_ROWS ?? 30_000);
const throughputRuns = Number(process.env.BENCH_THROUGHPUT_RUNS ?? 3);
const casePath = (script: string) => path.join(import.meta.dirname, 'cases', script);

async function startEmulator(recordFile: string, writeRate: string, readRate: string): Promise<Emulator> {
  const child = spawn(process.execPath, ['--import', 'tsx', casePath('writer-emulator.ts'), recordFile, writeRate, readRate], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function runImport(url: string, rows: number, rate: string, readRate: string, ledger: string): Promise<ImportResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', casePath('writer-import.ts'), url, String(rows), rate, readRate, ledger], {
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as ImportResult;
}

/** Imports `rows` users into a fresh emulator that enforces the writer's own budgets; the calls it took come from its record. */
async function importCase(rows: number, rate: string, readRate: string): Promise<{ result: ImportResult; calls: CallStats }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-bench-writer-'));
  try {
    const recordFile = path.join(dir, 'requests.ndjson');
    const emulator = await startEmulator(recordFile, rate, readRate);
    let result: ImportResult;
    try {
      result = await runImport(emulator.url, rows, rate, readRate, path.join(dir, 'ledger.db'));
    } finally {
      await emulator.stop();
    }
    return { result, calls: await callStats(recordFile) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function callStats(recordFile: string): Promise<CallStats> {
  const writeTimes: number[] = [];
  let rateLimited = 0;
  for await (const line of createInterface({ input: createReadStream(recordFile) })) {
    const call = JSON.parse(line) as RecordedCall;
    if (call.status === 429) rateLimited++;
    else if (call.accepted && call.method !== 'GET' && call.path.startsWith('/user_management/')) writeTimes.push(call.at);
  }
  // Recorded as answered; arrival order differs by a request or two.
  writeTimes.sort((a, b) => a - b);
  return { writeTimes, rateLimited };
}

/** Writes in each whole window of `windowMs` from the first write, leaving out the last, unfinished one. */
function fixedWindows(times: number[], windowMs: number): number[] {
  const first = times[0] as number;
  const full = Math.floor(((times[times.length - 1] as number) - first) / windowMs);
  const counts = new Array<number>(full).fill(0);
  for (const at of times) {
    const window = Math.floor((at - first) / windowMs);
    if (window < full) counts[window] = (counts[window] as number) + 1;
  }
  return counts;
}

/** The most writes any window [t, t + windowMs) holds. */
function busiestWindow(times: number[], windowMs: number): number {
  let busiest = 0;
  for (let start = 0, end = 0; start < times.length; start++) {
    while (end < times.length && (times[end] as number) < (times[start] as number) + windowMs) end++;
    busiest = Math.max(busiest, end - start);
  }
  return busiest;
}

/**
 * Writes per window once the first `limit` (the full reservoir the writer starts with) are spent: from then
 * on every write waits for a token to come back, so this is the rate a long migration keeps.
 */
function sustainedPerWindow(times: number[], limit: number, windowMs: number): number {
  const spent = times[limit - 1] as number;
  return ((times.length - limit) / ((times[times.length - 1] as number) - spent)) * windowMs;
}

const count = (n: number) => Math.round(n).toLocaleString('en');
const share = (n: number) => `${((100 * n) / BUDGET.limit).toFixed(1)}%`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

function exactlyOnce(rows: number, result: ImportResult, calls: CallStats): string {
  const creates = calls.writeTimes.length;
  return creates === rows && result.written === rows && result.failed === 0 ? `${count(creates)} (ok)` : `${count(creates)} creates, ${count(result.written)} written (MISSED)`;
}

const cpu = os.cpus()[0]?.model.trim() ?? 'cpu';
console.log('## Writer: workos sink against the emulator in another process\n');
console.log(`\`npx tsx bench/writer.ts\`, node ${process.version}, ${os.cpus().length} x ${cpu}, ${new Date().toISOString().slice(0, 10)}\n`);

const budget = await importCase(budgetRows, BUDGET.text, '1000/10s');
const windows = fixedWindows(budget.calls.writeTimes, BUDGET.windowMs);
const lowest = Math.min(...windows);
const mean = windows.reduce((sum, n) => sum + n, 0) / windows.length;
const busiest = busiestWindow(budget.calls.writeTimes, BUDGET.windowMs);
const sustained = sustainedPerWindow(budget.calls.writeTimes, BUDGET.limit, BUDGET.windowMs);
console.log(`Budget: users without orgs (one create each), writer rate ${BUDGET.text}, emulator limit ${BUDGET.text} (sliding window).`);
console.log(
  'Windows are 10 s from the first accepted write (the last, unfinished one left out); sustained is writes per 10 s after the first 500; the busiest window is any [t, t + 10 s).\n',
);
console.log('| users | time | creates accepted | full windows | min / mean per window (goal >= 97% of 500) | sustained | busiest 10 s window (<= 500) | 429s (goal 0) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
console.log(
  `| ${count(budgetRows)} | ${seconds(budget.result.ms)} | ${exactlyOnce(budgetRows, budget.result, budget.calls)} | ${windows.length} | ` +
    `${count(lowest)} (${share(lowest)}) / ${mean.toFixed(1)} (${share(mean)}) ${verdict(lowest >= GOAL_SHARE * BUDGET.limit || mean >= GOAL_SHARE * BUDGET.limit)} | ` +
    `${sustained.toFixed(1)} (${share(sustained)}) | ${count(busiest)} ${verdict(busiest <= BUDGET.limit)} | ${count(budget.calls.rateLimited)} ${verdict(budget.calls.rateLimited === 0)} |`,
);

console.log(`\nThroughput: no budget (rate none, readRate none) on the writer or the emulator, ledger on, default concurrency, ${throughputRuns} runs.\n`);
console.log('| users | time | creates accepted | creates/s (goal >= 1,500) | writer CPU per 1,000 creates | peak RSS (writer) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (let run = 0; run < throughputRuns; run++) {
  const { result, calls } = await importCase(throughputRows, 'none', 'none');
  const perSecond = result.written / (result.ms / 1000);
  console.log(
    `| ${count(throughputRows)} | ${seconds(result.ms)} | ${exactlyOnce(throughputRows, result, calls)} | ${count(perSecond)} ${verdict(perSecond >= 1500)} | ${count((1000 * result.cpuMs) / result.written)} ms | ${result.maxRssMb.toFixed(0)} MB |`,
  );
}
