// Baseline: csv-parse alone over the file, records counted and dropped.
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

const [file] = process.argv.slice(2);
const started = performance.now();
let rows = 0;
for await (const record of createReadStream(file).pipe(parse({ columns: true, bom: true }))) {
  if (record) rows++;
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ rows, ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
