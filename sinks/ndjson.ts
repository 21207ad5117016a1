// Valid envelopes as NDJSON, one per line: readable by the ndjson source, so a chain can go on from the file.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { defineSink, outputPath } from '../pipelines/component.ts';
import { hasErrors, type Envelope } from '../pipelines/record.ts';
import { openOutput } from './output.ts';

const options = z.object({
  path: outputPath().default('-').describe('NDJSON file to write (created or truncated); `-` writes stdout'),
  keepRaw: z.boolean().default(false).describe('Keep each source record (`raw`) in the output; by default it is dropped'),
});

export const ndjsonSink = defineSink({
  name: 'ndjson',
  summary: 'Writes each valid envelope as one JSON line to a file or stdout; rows with error issues are left out.',
  options,
  create(options, ctx) {
    return async (records) => {
      const result = { written: 0, failed: 0, skipped: 0 };
      async function* lines(envelopes: AsyncIterable<Envelope>): AsyncGenerator<string> {
        for await (const envelope of envelopes) {
          // Invalid rows are counted by the engine, by issue code; a file sink only leaves them out.
          if (hasErrors(envelope)) continue;
          result.written++;
          // JSON.stringify leaves out a property whose value is undefined.
          yield `${JSON.stringify(options.keepRaw ? envelope : { ...envelope, raw: undefined })}\n`;
        }
      }
      const output = await openOutput(options.path, ctx);
      await pipeline(lines(records), output.stream, { end: output.end });
      return result;
    };
  },
});
