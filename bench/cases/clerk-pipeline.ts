// read csv | map clerk | validate | write ndjson, in one process, through the engine.
import path from 'node:path';
import { createContext } from '../../pipelines/execute.ts';
import { runPipeline } from '../../pipelines/run.ts';
import { csvSource } from '../../sources/csv.ts';
import { mapStage } from '../../stages/map.ts';
import { validateStage } from '../../stages/validate.ts';
import { ndjsonSink } from '../../sinks/ndjson.ts';

const [file, output] = process.argv.slice(2);
const ctx = createContext({ quiet: true }, path.dirname(file), new AbortController().signal);
const stats = await runPipeline(
  {
    source: { component: csvSource, options: csvSource.options.parse({ path: file }) },
    stages: [
      { component: mapStage, options: mapStage.options.parse({ preset: 'clerk' }) },
      { component: validateStage, options: validateStage.options.parse({}) },
    ],
    writer: await ndjsonSink.create(ndjsonSink.options.parse({ path: output }), ctx),
  },
  ctx,
);
process.stdout.write(JSON.stringify({ rows: stats.read, written: stats.written, ms: stats.elapsedMs, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
