import { randomInt } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ApiError, RATE_LIMITED, type ErrorBody } from './errors.ts';
import { FaultController, type FaultAction, type RetryAfter } from './faults.ts';
import type { HandlerContext } from './handler.ts';
import type { RateBudget } from '../../pipelines/rate.ts';
import { DEFAULT_READS, DEFAULT_WRITES, RateLimiter } from './rate-limit.ts';
import { matchRoute } from './routes.ts';
import { EmulatorStore } from './store.ts';
import type { JsonObject } from './validation.ts';

// A local WorkOS API that the unmodified @workos-inc/node SDK talks to over plain HTTP
// (`new WorkOS(key, { apiHostname: '127.0.0.1', https: false, port })`), following
// ../shared/reference/workos-api.md. A request passes, in order: injected faults (drawn on arrival),
// the API key check, the sliding-window rate limiter, then its route handler. Faults and the limiter
// answer before anything takes effect, except drop-after, which lets the request take effect and then
// destroys the connection: the case an exactly-once writer has to survive.

export type { FaultAction, FaultController, FaultRule, RetryAfter } from './faults.ts';
export type { EmulatorStore } from './store.ts';

export interface WorkosEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Budget of POST/PUT/DELETE under /user_management/ per API key; default 500/10s; null = unlimited. */
  writes?: RateBudget | null;
  /** Budget of GET under /user_management/ per API key; default 1000/10s; null = unlimited. */
  reads?: RateBudget | null;
  /** Faults from the start, as for `authpipe emulator --faults SPEC` (grammar at parseFaultSpec). */
  faults?: string;
  /** Seed of the fault draws (shares, latency ranges); default random. */
  seed?: number;
  /** Whether a membership may have several roles; default true. */
  multipleRoles?: boolean;
  /** Whether to keep every request in `requests`; default true. Turn off for long benchmarks. */
  record?: boolean;
  /**
   * Called with every request once it is answered (or dropped), whether or not `record` keeps it: lets a
   * benchmark in another process stream the requests to a file instead of holding them in memory.
   */
  onRequest?: (request: RecordedRequest) => void;
}

export interface RecordedRequest {
  method: string;
  /** As sent, still percent-encoded. */
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body, the raw text when it was not JSON, undefined when empty. */
  body: unknown;
  /** The status answered (for drop-after, the one the applied request would have had); null when dropped before. */
  status: number | null;
  /** Arrival time, ms since the epoch. */
  at: number;
  /** Whether the API handled it; false when a fault, the key check or the rate limiter answered instead. */
  accepted: boolean;
  /** Whether the connection was destroyed instead of answered. */
  dropped: boolean;
}

export interface WorkosEmulator {
  /** http://HOST:PORT, the SDK's apiHostname/port. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  faults: FaultController;
  store: EmulatorStore;
  /** Closes every connection and listens again on the same port, keeping all state: a server restart. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body?: unknown;
  /** An HTML page instead of a JSON body. */
  page?: string;
  retryAfter?: string;
  accepted: boolean;
}

const UNAUTHORIZED: ErrorBody = { message: 'Missing or invalid API key; send Authorization: Bearer <key>.', code: 'unauthorized' };
const INVALID_JSON: ErrorBody = { message: 'The request body must be a JSON object.', code: 'invalid_request_parameters' };
const BEARER = /^Bearer\s+(\S+)$/i;

function apiKeyOf(headers: IncomingHttpHeaders): string | null {
  const match = headers.authorization ? BEARER.exec(headers.authorization) : null;
  return match ? (match[1] as string) : null;
}

function faultAnswer(action: Exclude<FaultAction, { kind: 'drop' }>): Answer {
  if (action.kind === 'storm') {
    const body = action.page ? { page: RATE_LIMITED_PAGE } : { body: RATE_LIMITED };
    return { status: 429, ...body, retryAfter: retryAfterHeader(action.retryAfter), accepted: false };
  }
  const body: ErrorBody = action.status === 429 ? RATE_LIMITED : { message: `${STATUS_CODES[action.status] ?? 'Error'} (injected fault).`, code: 'injected_fault' };
  return { status: action.status, body, accepted: false };
}

function retryAfterHeader(retryAfter: RetryAfter): string | undefined {
  if (retryAfter.format === 'none') return undefined;
  if (retryAfter.format === 'seconds') return String(retryAfter.seconds);
  return new Date(Date.now() + retryAfter.seconds * 1000).toUTCString();
}

const RATE_LIMITED_PAGE = '<html><body><h1>429 Too Many Requests</h1></body></html>';

function send(res: ServerResponse, answer: Answer): void {
  const headers: OutgoingHttpHeaders = { 'content-type': answer.page === undefined ? 'application/json' : 'text/html' };
  const payload = answer.page ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
  if (payload !== '') headers['content-length'] = Buffer.byteLength(payload);
  if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
  res.writeHead(answer.status, headers);
  res.end(payload);
}

/** The JSON body (undefined when empty) and whether it failed to parse. */
function readJson(text: string): { value: unknown; malformed: boolean } {
  if (text === '') return { value: undefined, malformed: false };
  try {
    return { value: JSON.parse(text), malformed: false };
  } catch {
    return { value: text, malformed: true };
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startWorkosEmulator(options: WorkosEmulatorOptions = {}): Promise<WorkosEmulator> {
  const host = options.host ?? '127.0.0.1';
  const record = options.record ?? true;
  const { onRequest } = options;
  const store = new EmulatorStore();
  const faults = new FaultController(options.seed ?? randomInt(2 ** 31));
  if (options.faults) faults.apply(options.faults);
  const limiter = new RateLimiter(options.writes === undefined ? DEFAULT_WRITES : options.writes, options.reads === undefined ? DEFAULT_READS : options.reads);
  const context: HandlerContext = {
    store,
    multipleRoles: options.multipleRoles ?? true,
    get legacyConflicts() {
      return faults.legacyConflicts;
    },
  };
  const requests: RecordedRequest[] = [];
  const sleeping = new Set<NodeJS.Timeout>();

  function serve(method: string, path: string, query: URLSearchParams, body: unknown, malformed: boolean, headers: IncomingHttpHeaders): Answer {
    const apiKey = apiKeyOf(headers);
    if (apiKey === null) return { status: 401, body: UNAUTHORIZED, accepted: false };
    if (path.startsWith('/user_management/')) {
      const retryAfter = limiter.retryAfterSeconds(apiKey, method === 'GET' ? 'read' : 'write', performance.now());
      if (retryAfter > 0) return { status: 429, body: RATE_LIMITED, retryAfter: String(retryAfter), accepted: false };
    }
    const route = matchRoute(method, path);
    if (!route) return { status: 404, body: { message: `No route for ${method} ${path}.`, code: 'not_found' }, accepted: true };
    const isObject = body === undefined || (typeof body === 'object' && body !== null && !Array.isArray(body));
    if (malformed || !isObject) return { status: 422, body: INVALID_JSON, accepted: true };
    const idempotencyKey = headers['idempotency-key'];
    try {
      const result = route.handler(context, { params: route.params, query, body: (body ?? {}) as JsonObject, idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : null });
      return { ...result, accepted: true };
    } catch (error) {
      if (error instanceof ApiError) return { status: error.status, body: error.body, accepted: true };
      return { status: 500, body: { message: `Emulator bug: ${error instanceof Error ? error.message : String(error)}`, code: 'emulator_error' }, accepted: true };
    }
  }

  function respond(req: IncomingMessage, res: ServerResponse, at: number, action: FaultAction | null, text: string): void {
    // The client left, or the server closed, while the request waited out its latency: nothing happens.
    if (req.socket.destroyed) return;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const path = mark < 0 ? url : url.slice(0, mark);
    const query = new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1));
    const { value: body, malformed } = readJson(text);
    const dropped = action?.kind === 'drop';
    let answer: Answer | null = null;
    if (action?.kind === 'status' || action?.kind === 'storm') answer = faultAnswer(action);
    else if (!dropped || action.afterApplying) answer = serve(method, path, query, body, malformed, req.headers);
    if (record || onRequest) {
      const request: RecordedRequest = { method, path, query: Object.fromEntries(query), body, status: answer?.status ?? null, at, accepted: answer?.accepted ?? false, dropped };
      if (record) requests.push(request);
      onRequest?.(request);
    }
    if (dropped || answer === null) req.socket.destroy();
    else send(res, answer);
  }

  const server = createServer((req, res) => {
    const at = Date.now();
    const delayMs = faults.nextDelayMs();
    const action = faults.nextAction(req.method);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8');
      if (delayMs === 0) return respond(req, res, at, action, text);
      const timer = setTimeout(() => {
        sleeping.delete(timer);
        respond(req, res, at, action, text);
      }, delayMs);
      sleeping.add(timer);
    });
  });

  async function stop(): Promise<void> {
    for (const timer of sleeping) clearTimeout(timer);
    sleeping.clear();
    if (!server.listening) return;
    const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    server.closeAllConnections();
    await closed;
  }

  const port = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    faults,
    store,
    async restart() {
      await stop();
      await listen(server, port, host);
    },
    close: stop,
  };
}
