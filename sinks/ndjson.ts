// Valid envelopes as NDJSON, one per line: readable by the ndjson source, so a chain can go on from the file.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { defineSink, outputPath } from '../pipelines/component.ts';
import { envelopeLine, hasErrors, isUnmapped, type Envelope } from '../pipelines/record.ts';
import { openSinkOutput } from './output.ts';
import { checkRejectsPath, openRejects, rejectsPath } from './rejects.ts';

const options = z.object({
  path: outputPath().default('-').describe('NDJSON file to write (created, or replaced whole once the sink is done: until then the old file stays as it was); `-` writes stdout'),
  rejects: rejectsPath(),
  keepRaw: z.boolean().default(false).describe('Keep each source record (`raw`) in the output; by default it is dropped, except from rows no map stage has been through'),
});

/**
 * Lines are joined into chunks of about this many characters before they are written: a write per line costs the
 * file stream more than the JSON costs to make. A chunk is still written whole before the next row is pulled once the
 * stream's buffer is full, so a slow reader holds the source back by at most a few chunks.
 */
const CHUNK_CHARS = 64 * 1024;

export const ndjsonSink = defineSink({
  name: 'ndjson',
  summary: 'Writes each valid envelope as one JSON line to a file or stdout; rows with error issues are left out.',
  options,
  create(options, ctx) {
    checkRejectsPath(options.rejects, options.path, ctx.baseDir);
    return async (records) => {
      const result = { written: 0, failed: 0, skipped: 0 };
      let received = 0;
      async function* chunks(envelopes: AsyncIterable<Envelope>): AsyncGenerator<string> {
        let chunk = '';
        for await (const envelope of envelopes) {
          received++;
          // Invalid rows are counted by the engine, by issue code; a file sink leaves them out, or in its rejects file.
          if (hasErrors(envelope)) {
            await rejects.add(envelope);
            continue;
          }
          result.written++;
          // JSON leaves out a property whose value is undefined. A row no map stage has been through keeps its
          // record: without it, nothing of the row would be written (`read csv | write ndjson`, to map later).
          chunk += `${envelopeLine(options.keepRaw || isUnmapped(envelope) ? envelope : { ...envelope, raw: undefined })}\n`;
          if (chunk.length >= CHUNK_CHARS) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk !== '') yield chunk;
      }
      const output = await openSinkOutput(options.path, ctx);
      const rejects = await openRejects(options.rejects, ctx);
      await rejects.finish(output.finish(pipeline(chunks(records), output.stream, { end: output.end }), () => received), () => received);
      return output.settle(result);
    };
  },
});
