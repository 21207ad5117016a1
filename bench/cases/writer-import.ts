// Generated users (no orgs, one create each) through the real workos sink: real SDK over HTTP to BASE_URL,
// a ledger in LEDGER_FILE, default concurrency. Prints { rows, written, failed, skipped, ms, cpuMs, maxRssMb }
// as JSON on stdout.
// Usage: writer-import.ts BASE_URL ROWS WRITE_RATE|none READ_RATE|none LEDGER_FILE
import path from 'node:path';
import { createContext } from '../../pipelines/execute.ts';
import { keyOf, type Envelope, type UserDraft } from '../../pipelines/record.ts';
import { workosSink } from '../../sinks/workos.ts';

const [baseUrl, rowsText, rate, readRate, ledger] = process.argv.slice(2) as [string, string, string, string, string];
const rows = Number(rowsText);
// A published bcrypt hash of "test" (reference/test-vectors.md §4): real hashes are this shape and length.
const BCRYPT_HASH = '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.';

async function* users(count: number): AsyncGenerator<Envelope> {
  for (let seq = 0; seq < count; seq++) {
    const user: UserDraft = {
      email: `user${seq}@example${seq % 97}.com`,
      emailVerified: seq % 5 !== 0,
      firstName: 'User',
      lastName: `Number${seq}`,
      externalId: `user_${seq.toString(36).padStart(8, '0')}`,
      passwordHash: BCRYPT_HASH,
      passwordHashType: 'bcrypt',
    };
    yield { seq, key: keyOf(user, seq), origin: { file: 'users.csv', line: seq + 2 }, user, issues: [] };
  }
}

const ctx = createContext({ quiet: true, ledger }, path.dirname(ledger), new AbortController().signal);
const writer = await workosSink.create(workosSink.options.parse({ apiKey: 'sk_test_bench', baseUrl, rate, readRate }), ctx);
const started = performance.now();
const cpuBefore = process.cpuUsage();
const result = await writer(users(rows));
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(JSON.stringify({ rows, ...result, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
