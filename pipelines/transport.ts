// The NDJSON carried between Unix-chain verbs: every envelope, invalid ones included, with its issues and
// raw record, so the next verb (or `write workos`, which records invalid rows in the ledger) sees it all.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { SinkWriter } from './component.ts';
import { envelopeLine } from './record.ts';

export function envelopeTransport(output: Writable): SinkWriter {
  return async (records) => {
    let written = 0;
    for await (const envelope of records) {
      written++;
      if (!output.write(`${envelopeLine(envelope)}\n`)) await once(output, 'drain');
    }
    return { written, failed: 0, skipped: 0 };
  };
}
