// The HTTP transport under the WorkOS SDK, given to it as `fetchFn` (its only transport hook, workos-api.md §1).
// Node's fetch spends about a millisecond of CPU per call on web streams and abort signals; node:http with a
// keep-alive agent spends a fraction of that, which is what lets one process send well over 1,500 calls a
// second. The SDK reads ok, status, statusText, headers.get(), text() and json() of an answer and nothing else,
// so the answer is a small object with exactly those members.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

export interface Transport {
  fetch: typeof fetch;
  /** Closes the idle keep-alive connections. */
  close(): void;
}

/**
 * Retry-After may be a number of seconds or an HTTP date; the SDK reads it with Number(), which turns a date
 * into NaN. Handing it seconds keeps the server's hint (workos-api.md §7).
 */
function retryAfterSeconds(value: string): string {
  // Seconds may come with a fraction (`1.5`), which Date.parse would read as a date in 2001.
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return value.trim();
  const at = Date.parse(value);
  return Number.isNaN(at) ? value : String(Math.max(0, Math.ceil((at - Date.now()) / 1000)));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const lower = name.toLowerCase();
  const value = headers[lower];
  if (value === undefined) return null;
  const text = Array.isArray(value) ? value.join(', ') : value;
  return lower === 'retry-after' ? retryAfterSeconds(text) : text;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The body the SDK is given. A 429 from a gateway or CDN in front of the API (an HTML page, nothing) is a rate
 * limit all the same; the SDK recognises one only with a JSON body, and would otherwise fail the row for good.
 */
function bodyFor(status: number, text: string): string {
  return status === 429 && !isJson(text) ? JSON.stringify({ message: 'Too many requests (the answer had no JSON body)', code: 'rate_limit_exceeded' }) : text;
}

function answer(status: number, statusText: string, headers: IncomingHttpHeaders, received: string): Response {
  const text = bodyFor(status, received);
  const response = {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    headers: { get: (name: string) => headerValue(headers, name) },
    text: async () => text,
    json: async (): Promise<unknown> => JSON.parse(text),
  };
  return response as unknown as Response;
}

/**
 * The body as sent before its Content-Encoding. The SDK asks for none, but a server or a proxy may compress anyway,
 * and fetch, which the SDK expects, would decode it.
 */
function decoded(encoding: string | undefined, body: Buffer): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    default:
      return body;
  }
}

export function createTransport(): Transport {
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

  /** fetch's signature; the SDK passes a URL string and a plain init object. */
  function send(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const target = new URL(input instanceof Request ? input.url : input);
      const client = target.protocol === 'https:' ? https : http;
      const request = client.request(target, {
        method: init.method,
        headers: init.headers as Record<string, string>,
        agent: target.protocol === 'https:' ? agents['https:'] : agents['http:'],
      });
      const signal = init.signal;
      const onAbort = () => request.destroy(new DOMException('This operation was aborted', 'AbortError'));
      signal?.addEventListener('abort', onAbort, { once: true });
      // Like fetch: network failures are TypeErrors, an abort is an AbortError (the SDK turns it into a 408).
      const fail = (error: Error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error.name === 'AbortError' ? error : new TypeError('fetch failed', { cause: error }));
      };
      request.on('error', fail);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          let text: string;
          try {
            text = decoded(response.headers['content-encoding'], chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
          } catch (error) {
            fail(error as Error);
            return;
          }
          resolve(answer(response.statusCode ?? 0, response.statusMessage ?? '', response.headers, text));
        });
      });
      request.end(typeof init.body === 'string' && init.body !== '' ? init.body : undefined);
    });
  }

  return {
    fetch: send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
