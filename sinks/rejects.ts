// The rows a file sink leaves out (those with an error issue), kept whole in an NDJSON file of their own: the summary
// names the first ten, and a file sink has no ledger to hold the rest. Shared by the ndjson and csv sinks.
//
// Each row keeps its source record and its findings, and gains the mark of a row exported for fixing: fixed by hand
// and put through `validate`, it is checked afresh (but for the errors of stages before validate, which a person who
// fixed them removes); put through anything else, its errors still keep it out.
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { outputPath, type Context } from '../pipelines/component.ts';
import { UsageError } from '../pipelines/errors.ts';
import { counted } from '../pipelines/log.ts';
import { envelopeLine, type Envelope } from '../pipelines/record.ts';
import { isSameFile } from '../pipelines/same-file.ts';
import { NOT_VALIDATED } from '../state/replay.ts';
import { openOutput } from './output.ts';

export function rejectsPath() {
  return outputPath()
    .optional()
    .describe('NDJSON file for the rows left out, whole (source record, errors, password hash: readable by its owner only), to fix and put through `validate` again; unset, the summary names the first ten');
}

export interface Rejects {
  /** Keeps an invalid row; waits while the file's buffer is full. */
  add(envelope: Envelope): Promise<void>;
  /** Waits for the sink's own output, then closes the file: in place if that output was, set aside if not. */
  finish(writing: Promise<void>, received: () => number): Promise<void>;
}

/**
 * Refuses a rejects file that is where the sink writes its valid rows (`output`): the one moved into place last would
 * replace the other, or both would be mixed on stdout (also when one is named as a file: /dev/stdout beside `-`).
 */
export function checkRejectsPath(file: string | undefined, output: string, baseDir: string): void {
  if (file === undefined) return;
  const where = (name: string) => (name === '-' ? '/dev/stdout' : path.resolve(baseDir, name));
  if (isSameFile(where(file), where(output)) && !isNullDevice(where(output))) {
    throw new UsageError('sink.rejects_is_output', `the rejects file ${file === '-' ? 'is stdout' : file}, where the valid rows go too: name another file`);
  }
}

/** Whether the path is /dev/null, also as stdout sent there: rows thrown away twice replace nothing. */
function isNullDevice(file: string): boolean {
  return isSameFile(file, '/dev/null');
}

/** Without a file, the rows left out are only told of: how many, and how to keep them. */
export async function openRejects(file: string | undefined, ctx: Context): Promise<Rejects> {
  if (file === undefined) {
    let count = 0;
    return {
      add: async () => {
        count++;
      },
      async finish(writing) {
        await writing;
        if (count > 0) ctx.log.info(`${counted(count, 'invalid row was', 'invalid rows were')} left out: the sink's \`rejects\` option (\`--rejects FILE\` for \`write\`) keeps them in a file to fix`);
      },
    };
  }
  const rejected = await openOutput(file, ctx, 'invalid rows left out');
  const { stream } = rejected;
  // Listened to from the start: a write that fails while no row waits for the buffer would otherwise go unheard.
  const closed = rejected.end ? finished(stream) : Promise.resolve();
  closed.catch(() => undefined);
  return {
    async add(envelope) {
      const line = `${envelopeLine({ ...envelope, issues: [...envelope.issues, NOT_VALIDATED] })}\n`;
      if (!stream.write(line)) await once(stream, 'drain');
    },
    finish: (writing, received) =>
      rejected.finish(
        (async () => {
          try {
            await writing;
          } catch (error) {
            stream.destroy();
            throw error;
          }
          if (rejected.end) stream.end();
          await closed;
        })(),
        received,
      ),
  };
}
