// The WorkOS SDK pointed at a base URL. The SDK takes a host, a scheme flag and a port, never a URL, and its
// paths are absolute, so a base URL with a path cannot work (workos-api.md §1).
import { WorkOS, type WorkOSOptions } from '@workos-inc/node';
import { UsageError } from '../../pipelines/errors.ts';
import type { Transport } from './transport.ts';

type HostOptions = Pick<WorkOSOptions, 'apiHostname' | 'https' | 'port'>;

/** `''` means api.workos.com; otherwise `http(s)://host[:port]`, e.g. http://127.0.0.1:8787 for an emulator. */
export function hostOptions(baseUrl: string): HostOptions {
  if (baseUrl === '') return {};
  // A user name and password in the URL are secrets: messages show the URL without them.
  const shown = baseUrl.replace(/\/\/[^/@]*@/, '//[redacted]@');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError('workos.base_url_invalid', `invalid WorkOS base URL "${shown}": expected http(s)://host[:port], e.g. http://127.0.0.1:8787`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
    throw new UsageError('workos.base_url_invalid', `invalid WorkOS base URL "${shown}": only http(s)://host[:port] is possible (the SDK sends absolute paths)`);
  }
  const https = url.protocol === 'https:';
  // URL keeps IPv6 hosts in brackets, which is also how the SDK puts them back into its base URL.
  return { apiHostname: url.hostname, https, ...(url.port === '' ? {} : { port: Number(url.port) }) };
}

export interface ClientSettings {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
  transport: Transport;
}

export function createWorkosClient(settings: ClientSettings): WorkOS {
  return new WorkOS(settings.apiKey, {
    ...hostOptions(settings.baseUrl),
    timeout: settings.timeoutMs,
    fetchFn: settings.transport.fetch,
  });
}
