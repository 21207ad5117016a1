// The WorkOS emulator in its own process for the writer benchmark, with every request streamed to an NDJSON
// file as { method, path, status, at, accepted } (no bodies: they hold password hashes). Prints its URL as
// one JSON line on stdout once listening; SIGTERM closes it and the file.
// Usage: writer-emulator.ts RECORD_FILE WRITE_RATE|none READ_RATE|none
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { startWorkosEmulator } from '../../emulators/workos/server.ts';
import { parseBudget } from '../../pipelines/rate.ts';

const [recordFile, writeRate, readRate] = process.argv.slice(2) as [string, string, string];
const record = createWriteStream(recordFile);
const emulator = await startWorkosEmulator({
  writes: parseBudget(writeRate),
  reads: parseBudget(readRate),
  record: false,
  onRequest: ({ method, path, status, at, accepted }) => {
    record.write(`${JSON.stringify({ method, path, status, at, accepted })}\n`);
  },
});
process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
await once(process, 'SIGTERM');
await emulator.close();
record.end();
await once(record, 'finish');
