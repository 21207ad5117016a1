// Run by crash.test.ts as a separate process, to be killed with SIGKILL at random moments:
//   node --import tsx test/sinks/workos/crash-child.ts <emulator url> <ledger path> <row count> [write budget]
// Writes mixedRows(count) through the workos sink and prints the SinkResult as JSON.
import { workosSink } from '../../../sinks/workos.ts';
import { streamOf } from '../../sources/context.ts';
import { API_KEY, mixedRows, sinkContext } from './harness.ts';

const [baseUrl = '', ledgerPath = '', count = '0', rate = 'none'] = process.argv.slice(2);
const { ctx } = sinkContext({}, ledgerPath);
const options = workosSink.options.parse({ apiKey: API_KEY, baseUrl, rate, readRate: 'none', retries: 10 });
const writer = await workosSink.create(options, ctx);
const result = await writer(streamOf(mixedRows(Number(count))));
process.stdout.write(JSON.stringify(result));
