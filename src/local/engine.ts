import { delimiter, join } from 'node:path';
import { localCredentials } from '../core/auth/tokens.js';
import { systemClock } from '../core/clock.js';
import { requireEndpoint } from '../core/connector/model.js';
import type { Connector, Endpoint } from '../core/connector/model.js';
import type { Registry } from '../core/connector/registry.js';
import { readAnswer } from '../core/engine/answer.js';
import type { Answer } from '../core/engine/answer.js';
import { invoke, invokeAll, prepareCall } from '../core/engine/invoke.js';
import type { InvokeDeps, PreparedCall } from '../core/engine/invoke.js';
import type { RawBody } from '../core/engine/params.js';
import { ConnectrError } from '../core/errors.js';
import type { Env } from '../core/paths.js';
import { resolvePaths } from '../core/paths.js';
import { programAuth } from './auth.js';
import { coreSettings } from '../core/settings/core.js';
import type { CoreSettings } from '../core/settings/core.js';

/**
 * connectr's engine for a Node program in this process: the connectors, accounts and tokens of
 * the local CLI (`connectr auth`), the same request building, refresh, retries and pagination
 * as `connectr call`, no daemon. The TypeScript SDK's LocalClient is a thin layer over it.
 */

export interface LocalOptions {
  /** Where the home, keychain and overrides come from (CONNECTR_HOME, base URLs...). Default: process.env. */
  readonly env?: Env | undefined;
  /** Connector directories besides the built-in and user ones (the CLI's --connectors-dir). */
  readonly connectorDirs?: readonly string[] | undefined;
  /** The encrypted file store's passphrase, when the accounts are there; default CONNECTR_VAULT_PASSPHRASE. */
  readonly passphrase?: string | undefined;
  /** The largest answer `execute` reads into memory (default 64 MiB). */
  readonly maxResponseBytes?: number | undefined;
  /** Told what the CLI would print on stderr (e.g. a fallback to the encrypted file store). */
  readonly onNotice?: ((message: string) => void) | undefined;
}

export interface LocalCall {
  /** The connector's name, e.g. `gmail`. */
  readonly connector: string;
  /** The account, as `connectr call --account` takes it; absent or empty: the connector's default. */
  readonly account?: string | undefined;
  /** The endpoint's name, e.g. `list_messages`. */
  readonly endpoint: string;
  /** Values by param name: strings, numbers, booleans, arrays, objects, as the endpoint declares. */
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  /** A whole request body replacing the body params: a string as it is, anything else as JSON. */
  readonly body?: unknown;
  /** A binary request body (an upload). */
  readonly bytes?: Uint8Array | undefined;
}

export interface LocalPages {
  readonly maxPages?: number | undefined;
  readonly limit?: number | undefined;
}

export interface LocalCallOptions {
  /** Stops the call: waits, retries, transfers and pagination. */
  readonly signal?: AbortSignal | undefined;
  /** Time limit for each attempt to start answering, and for each pause in a transfer (default 30 s). */
  readonly timeoutMs?: number | undefined;
  /** Retries of a failed idempotent attempt (default 2), as `connectr call --retries`. */
  readonly retries?: number | undefined;
}

export type { Answer };

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 2;

export class LocalEngine {
  readonly #env: Env;
  /** Parsed once, here: a malformed variable is refused when the engine is made. */
  readonly #settings: CoreSettings;
  readonly #options: LocalOptions;
  #registry: Promise<Registry> | undefined;

  constructor(options: LocalOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#settings = coreSettings(this.#env);
    this.#options = options;
    const max = options.maxResponseBytes;
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 1))
      throw new ConnectrError(
        'invalid_input',
        `maxResponseBytes must be a positive whole number, not ${String(max)}`,
      );
  }

  /** One call: the upstream answer whatever its status, its body decoded as the endpoint declares. */
  async execute(call: LocalCall, options: LocalCallOptions = {}): Promise<Answer> {
    const { endpoint, prepared, deps } = await this.#prepare(call, options);
    const response = await invoke(prepared, deps, attemptOptions(options));
    const max = this.#options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    return readAnswer(endpoint, response, {
      maxBytes: max,
      tooLargeHint: `raise maxResponseBytes, or save it with \`connectr call ${call.connector} ${call.endpoint} -o FILE\`, which streams it`,
    });
  }

  /**
   * Every item of every page, as each page arrives, up to the limits. An upstream error answer
   * ends it with an `upstream` error after the items before it.
   */
  async *executeAll(
    call: LocalCall & LocalPages,
    options: LocalCallOptions = {},
  ): AsyncGenerator<unknown, void> {
    const limits = { maxPages: positive(call.maxPages, 'maxPages'), limit: positive(call.limit, 'limit') };
    const { prepared, deps } = await this.#prepare(call, options);
    yield* invokeAll(prepared, deps, { ...attemptOptions(options), ...limits });
  }

  /** The connectors this engine knows (built-in, the user's, connectorDirs), by name. */
  async connectors(): Promise<readonly Connector[]> {
    return (await this.#loadRegistry()).connectors;
  }

  async #prepare(
    call: LocalCall,
    options: LocalCallOptions,
  ): Promise<{ endpoint: Endpoint; prepared: PreparedCall; deps: InvokeDeps }> {
    const connector = (await this.#loadRegistry()).require(call.connector);
    const endpoint = requireEndpoint(
      connector,
      call.endpoint,
      `Run \`connectr call ${connector.name}\` to list its endpoints.`,
    );
    // Checked and built before any account is read: a bad value sends nothing.
    const prepared = prepareCall(
      {
        connector,
        endpoint,
        values: call.params ?? {},
        ...bodyOf(call),
        label: (param) => `params.${param.key}`,
      },
      this.#env,
    );
    const auth = programAuth(
      this.#env,
      this.#options.passphrase,
      this.#options.onNotice ?? (() => undefined),
      options.signal,
      this.#settings,
    );
    const deps: InvokeDeps = {
      credentials: localCredentials(connector, call.account || undefined, auth),
      env: this.#env,
      clock: systemClock,
      signal: options.signal,
    };
    return { endpoint, prepared, deps };
  }

  #loadRegistry(): Promise<Registry> {
    this.#registry ??= (async () => {
      const { loadRegistry } = await import('../core/connector/registry.js');
      const paths = resolvePaths(this.#env);
      const fromEnv = (this.#env.CONNECTR_CONNECTORS_DIR ?? '').split(delimiter).filter(Boolean);
      return loadRegistry({
        userDir: paths.userConnectorsDir,
        extraDirs: [...fromEnv, ...(this.#options.connectorDirs ?? [])],
        cacheFile: join(paths.cacheDir, 'connectors.json'),
      });
    })();
    // A failed load (an unreadable directory) is not kept: the next call tries again.
    this.#registry.catch(() => {
      this.#registry = undefined;
    });
    return this.#registry;
  }
}

function bodyOf(call: LocalCall): { body?: RawBody } {
  if (call.body !== undefined && call.bytes !== undefined)
    throw new ConnectrError('invalid_input', 'give body or bytes, not both');
  if (call.bytes !== undefined) {
    if (!(call.bytes instanceof Uint8Array))
      throw new ConnectrError('invalid_input', 'bytes must be a Uint8Array (or a Buffer)');
    return {
      body: { kind: 'bytes', data: Buffer.from(call.bytes.buffer, call.bytes.byteOffset, call.bytes.length) },
    };
  }
  if (call.body === undefined) return {};
  return {
    body: { kind: 'text', text: typeof call.body === 'string' ? call.body : JSON.stringify(call.body) },
  };
}

function attemptOptions(options: LocalCallOptions): { retries: number; timeoutMs: number } {
  return {
    retries: whole(options.retries, 'retries') ?? DEFAULT_RETRIES,
    timeoutMs: positive(options.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS,
  };
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ConnectrError('invalid_input', `${name} must be a positive whole number, not ${String(value)}`);
  return value;
}

function whole(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ConnectrError(
      'invalid_input',
      `${name} must be a whole number (0 or more), not ${String(value)}`,
    );
  return value;
}
