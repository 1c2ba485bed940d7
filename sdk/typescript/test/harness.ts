/** What the harness prints (test/sdk/harness.ts at the repo root), and helpers the tests share. */
import { expect, inject } from 'vitest';
import { ConnectrClient, ConnectrError } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';

export interface Harness {
  url: string;
  api_key: string;
  token_key: string;
  other_key: string;
  /** Created with --scope metrics: GET /metrics alone. */
  metrics_key: string;
  connections: { gmail: string; dropbox: string; onedrive: string };
  tokens: { gmail: string; dropbox: string; onedrive: string };
  /** The environment of a local CLI with a default account of each connector signed in (LocalClient). */
  local_env: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    harness: Harness;
  }
}

export function harness(): Harness {
  return inject('harness');
}

/** A client of the harness's server with `key` (default its api_key; null: none), reading nothing from the environment. */
export function client(key: string | null = harness().api_key, options: ClientOptions = {}): ConnectrClient {
  return new ConnectrClient({ baseUrl: harness().url, apiKey: key ?? '', env: {}, ...options });
}

/** The typed error a call fails with (the test fails when it succeeds). */
export async function rejection(promise: Promise<unknown>): Promise<ConnectrError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectrError);
    return error as ConnectrError;
  }
  throw new Error('expected the call to fail');
}
