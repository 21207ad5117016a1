import type { TestContext } from 'node:test';
import { WorkOS } from '@workos-inc/node';
import { startWorkosEmulator, type WorkosEmulator, type WorkosEmulatorOptions } from '../../../emulators/workos/server.ts';

// Shared by the emulator tests: a fresh emulator on a random port and the real SDK pointed at it.

export const API_KEY = 'sk_test_emulator';

export function sdkFor(emulator: WorkosEmulator, apiKey = API_KEY): WorkOS {
  return new WorkOS(apiKey, { apiHostname: '127.0.0.1', https: false, port: emulator.port });
}

/** An emulator without rate limits (unless `options` sets some), closed when the test `t` ends. */
export async function emulatorFor(t: TestContext, options: WorkosEmulatorOptions = {}): Promise<WorkosEmulator> {
  const emulator = await startWorkosEmulator({ writes: null, reads: null, ...options });
  t.after(() => emulator.close());
  return emulator;
}

export async function startWithSdk(options: WorkosEmulatorOptions = {}): Promise<{ emulator: WorkosEmulator; workos: WorkOS }> {
  const emulator = await startWorkosEmulator(options);
  return { emulator, workos: sdkFor(emulator) };
}

/** The rejection of `promise`, for asserting on SDK exceptions field by field. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

/** A raw request, for what the SDK cannot send (no key, broken JSON). */
export async function rawRequest(emulator: WorkosEmulator, method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; contentType: string | null; body: unknown }> {
  const response = await fetch(`${emulator.url}${path}`, { method, body: init.body, headers: { 'content-type': 'application/json', ...init.headers } });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), body: text === '' ? undefined : JSON.parse(text) };
}
