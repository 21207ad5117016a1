// Shared by the workos sink tests: generated users, a run context with a ledger in a temp folder whose log
// lines are kept, and one call that runs the real sink (real SDK, real HTTP) over a list of envelopes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { WorkOS } from '@workos-inc/node';
import { sharedResources, type Context, type SinkResult } from '../../../pipelines/component.ts';
import { createLogger, type Logger } from '../../../pipelines/log.ts';
import { keyOf, type Envelope, type UserDraft } from '../../../pipelines/record.ts';
import { workosSink } from '../../../sinks/workos.ts';
import type { RecordedRequest, WorkosEmulator } from '../../../emulators/workos/server.ts';
import { streamOf, tempDir } from '../../sources/context.ts';

export const API_KEY = 'sk_test_sink';
/** A published bcrypt hash of "test" (reference/test-vectors.md §4). */
export const BCRYPT_HASH = '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.';

export function userEnvelope(seq: number, overrides: Partial<UserDraft> = {}): Envelope {
  const user: UserDraft = {
    email: `user${seq}@example.com`,
    firstName: 'User',
    lastName: `Number${seq}`,
    externalId: `ext-${seq}`,
    passwordHash: BCRYPT_HASH,
    passwordHashType: 'bcrypt',
    ...overrides,
  };
  return { seq, key: keyOf(user, seq), origin: { file: 'users.csv', line: seq + 2 }, user, issues: [] };
}

export function userEnvelopes(count: number, overrides: (seq: number) => Partial<UserDraft> = () => ({})): Envelope[] {
  return Array.from({ length: count }, (_, seq) => userEnvelope(seq, overrides(seq)));
}

export interface SinkRun {
  ctx: Context;
  lines: string[];
  ledgerPath: string;
}

export function sinkContext(overrides: Partial<Context> = {}, ledgerPath = path.join(tempDir(), 'ledger.db')): SinkRun {
  const lines: string[] = [];
  const log: Logger = createLogger({
    write: (line) => {
      lines.push(line);
      return true;
    },
  });
  const ctx: Context = { baseDir: path.dirname(ledgerPath), env: {}, log, signal: new AbortController().signal, incomplete: new AbortController(), dryRun: false, live: false, shared: sharedResources().shared, runProgress: { written: 0, failed: 0 }, ledgerPath, ...overrides };
  return { ctx, lines, ledgerPath };
}

/**
 * The requests of a run that began after request `from` of an earlier one, past its first ones: the lookups of a user
 * the ledger wrote last and of one it wrote first, which check the ledger belongs to this server and that it has not
 * lost users since.
 */
export function requestsAfterLedgerCheck(emulator: WorkosEmulator, from: number): RecordedRequest[] {
  const requests = emulator.requests.slice(from);
  const checks = requests.findIndex((request) => !(request.method === 'GET' && /^\/user_management\/users\/user_\w+$/.test(request.path)));
  const checked = checks === -1 ? requests.length : checks;
  assert.ok(checked >= 1 && checked <= 2, `the run began with ${checked} lookups of written users`);
  return requests.slice(checked);
}

export type SinkOptions = Partial<Parameters<typeof workosSink.create>[0]>;

/**
 * Runs the sink with the given options (key and base URL of `emulator` unless given) over `envelopes`, and resolves its
 * counts of rows; its details (by outcome, for --json) are the CLI tests' concern.
 */
export async function runSink(emulator: WorkosEmulator | null, envelopes: Iterable<Envelope>, run: SinkRun, options: SinkOptions = {}): Promise<SinkResult> {
  const parsed = workosSink.options.parse({ apiKey: API_KEY, baseUrl: emulator?.url ?? '', ...options });
  const writer = await workosSink.create(parsed, run.ctx);
  const { written, failed, skipped } = await writer(streamOf(envelopes));
  return { written, failed, skipped };
}

/** A server of the test's own (another WorkOS-compatible server, a proxy) on a free port, closed with the test; its base URL. */
export async function serve(t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The body of a request a test's own server received, read whole. */
export async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The most requests any window of `windowMs` holds, wherever it starts. */
export function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++;
    busiest = Math.max(busiest, end - start + 1);
  }
  return busiest;
}

/** Sends a request a test's own server received on to `emulator` (at `path`), and the emulator's answer back. */
export async function forward(emulator: WorkosEmulator, request: IncomingMessage, body: Buffer, response: ServerResponse, path = request.url ?? '/'): Promise<void> {
  const forwarded = await fetch(`${emulator.url}${path}`, {
    method: request.method,
    headers: { authorization: request.headers.authorization ?? '', 'content-type': 'application/json' },
    body: body.length === 0 ? undefined : body,
  });
  response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' }).end(await forwarded.text());
}

export function sdkFor(emulator: WorkosEmulator): WorkOS {
  return new WorkOS(API_KEY, { apiHostname: '127.0.0.1', https: false, port: emulator.port });
}

/** Requests that reached the API (not refused by a fault or the limiter) for `method path`. */
export function accepted(emulator: WorkosEmulator, method: string, pathPrefix: string) {
  return emulator.requests.filter((request) => request.accepted && request.method === method && request.path.startsWith(pathPrefix));
}

/**
 * A mixed export: most users plain, every tenth in two of twenty organizations (one with two roles), every
 * twentieth with a TOTP secret, every hundredth invalid. The same `count` always gives the same rows.
 */
export function mixedRows(count: number): Envelope[] {
  const org = (n: number, roles: string[]) => ({ externalId: `org-${n % 20}`, name: `Org ${n % 20}`, roles });
  return userEnvelopes(count, (seq) => ({
    ...(seq % 10 === 3 ? { orgs: [org(Math.floor(seq / 10), ['member']), org(Math.floor(seq / 10) + 7, ['admin', 'billing'])] } : {}),
    ...(seq % 20 === 5 ? { totpSecret: 'JBSWY3DPEHPK3PXP' } : {}),
  })).map((envelope) => {
    if (envelope.seq % 100 === 42) envelope.issues.push({ stage: 'validate', code: 'email.invalid', level: 'error', message: 'not an email address', field: 'email' });
    return envelope;
  });
}
