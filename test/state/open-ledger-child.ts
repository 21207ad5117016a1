// Run by lock.test.ts as a second process: `node --import tsx open-ledger-child.ts <ledger> <hold|close>`.
// Prints "open" once the ledger is open (and, with hold, keeps it open until killed), or the refusal.
import { openLedger } from '../../state/ledger.ts';

const [file = '', mode = 'close'] = process.argv.slice(2);
try {
  const ledger = openLedger(file);
  process.stdout.write('open\n');
  if (mode === 'hold') setInterval(() => undefined, 60_000);
  else ledger.close();
} catch (error) {
  const { code, message } = error as { code?: string; message: string };
  process.stdout.write(`${code}: ${message}\n`);
  process.exitCode = 1;
}
