// Baseline: csv-parse alone over the file, records counted and dropped. Time is counted from the process's start, as
// for the pipeline, and plain node runs both: no TypeScript loader in either.
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

const [file] = process.argv.slice(2);
let rows = 0;
for await (const record of createReadStream(file).pipe(parse({ columns: true, bom: true }))) {
  if (record) rows++;
}
process.stdout.write(JSON.stringify({ rows, ms: performance.now(), maxRssMb: process.resourceUsage().maxRSS / 1024 }));
