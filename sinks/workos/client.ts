// The WorkOS SDK pointed at a base URL. The SDK takes a host, a scheme flag and a port, never a URL, and its
// paths are absolute (workos-api.md §1): a base URL's path (a WorkOS-compatible server behind a gateway, at
// /api/workos) is put in front of each request's path on its way out, through the SDK's transport hook.
import { WorkOS, type WorkOSOptions } from '@workos-inc/node';
import { UsageError } from '../../pipelines/errors.ts';
import type { Transport } from './transport.ts';

type HostOptions = Pick<WorkOSOptions, 'apiHostname' | 'https' | 'port'>;

export interface ServerAddress {
  host: HostOptions;
  /** The base URL's path without its trailing slash, put before every request's path; '' for none. */
  pathPrefix: string;
}

/** `''` means api.workos.com; otherwise `http(s)://host[:port][/path]`, e.g. http://127.0.0.1:8787 for an emulator. */
export function serverAddress(baseUrl: string): ServerAddress {
  if (baseUrl === '') return { host: {}, pathPrefix: '' };
  // A user name and password in the URL are secrets: messages show the URL without them.
  const shown = baseUrl.replace(/\/\/[^/@]*@/, '//[redacted]@');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError('workos.base_url_invalid', `invalid WorkOS base URL "${shown}": expected http(s)://host[:port], e.g. http://127.0.0.1:8787`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new UsageError('workos.base_url_invalid', `invalid WorkOS base URL "${shown}": only http(s)://host[:port][/path] is possible, with no query, fragment or user name`);
  }
  const https = url.protocol === 'https:';
  // URL keeps IPv6 hosts in brackets, which is also how the SDK puts them back into its base URL.
  const host = { apiHostname: url.hostname, https, ...(url.port === '' ? {} : { port: Number(url.port) }) };
  return { host, pathPrefix: url.pathname.replace(/\/+$/, '') };
}

/** The transport's fetch, with `pathPrefix` before the path of every URL the SDK asks for. */
function underPath(fetchFn: typeof fetch, pathPrefix: string): typeof fetch {
  if (pathPrefix === '') return fetchFn;
  return (input: string | URL | Request, init?: RequestInit) => {
    const target = new URL(input instanceof Request ? input.url : input);
    target.pathname = pathPrefix + target.pathname;
    return fetchFn(target.toString(), init);
  };
}

export interface ClientSettings {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
  transport: Transport;
}

export function createWorkosClient(settings: ClientSettings): WorkOS {
  const { host, pathPrefix } = serverAddress(settings.baseUrl);
  return new WorkOS(settings.apiKey, {
    ...host,
    timeout: settings.timeoutMs,
    fetchFn: underPath(settings.transport.fetch, pathPrefix),
  });
}
