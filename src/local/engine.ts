import { localCallDeps } from '../core/calls/deps.js';
import { callOptions, positiveNumber } from '../core/calls/defaults.js';
import type { CallPatience } from '../core/calls/defaults.js';
import { requestBody } from '../core/calls/input.js';
import { answer, items, prepare } from '../core/calls/service.js';
import { localRegistryOptions } from '../core/connector/local-dirs.js';
import type { Connector } from '../core/connector/model.js';
import type { Registry } from '../core/connector/registry.js';
import type { Answer } from '../core/engine/answer.js';
import type { InvokeDeps, PreparedCall } from '../core/engine/invoke.js';
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

/** retries (default 2, as `connectr call --retries`) and timeoutMs (default 30 s): core/calls/defaults.ts. */
export interface LocalCallOptions extends CallPatience {
  /** Stops the call: waits, retries, transfers and pagination. */
  readonly signal?: AbortSignal | undefined;
}

export type { Answer };

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

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
    positiveNumber(options.maxResponseBytes, 'maxResponseBytes');
  }

  /** One call: the upstream answer whatever its status, its body decoded as the endpoint declares. */
  async execute(call: LocalCall, options: LocalCallOptions = {}): Promise<Answer> {
    const { prepared, deps } = await this.#prepare(call, options);
    return answer(
      prepared,
      deps,
      {
        maxBytes: this.#options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        tooLargeHint: `raise maxResponseBytes, or save it with \`connectr call ${call.connector} ${call.endpoint} -o FILE\`, which streams it`,
      },
      callOptions(options),
    );
  }

  /**
   * Every item of every page, as each page arrives, up to the limits. An upstream error answer
   * ends it with an `upstream` error after the items before it.
   */
  async *executeAll(
    call: LocalCall & LocalPages,
    options: LocalCallOptions = {},
  ): AsyncGenerator<unknown, void> {
    const limits = {
      maxPages: positiveNumber(call.maxPages, 'maxPages'),
      limit: positiveNumber(call.limit, 'limit'),
    };
    const { prepared, deps } = await this.#prepare(call, options);
    yield* items(prepared, deps, limits, callOptions(options));
  }

  /** The connectors this engine knows (built-in, the user's, connectorDirs), by name. */
  async connectors(): Promise<readonly Connector[]> {
    return (await this.#loadRegistry()).connectors;
  }

  async #prepare(
    call: LocalCall,
    options: LocalCallOptions,
  ): Promise<{ prepared: PreparedCall; deps: InvokeDeps }> {
    const connector = (await this.#loadRegistry()).require(call.connector);
    // Checked and built before any account is read: a bad value sends nothing.
    const prepared = prepare(
      {
        connector,
        endpoint: call.endpoint,
        listedBy: `Run \`connectr call ${connector.name}\` to list its endpoints.`,
        params: call.params,
        body: requestBody({ body: call.body, bytes: call.bytes }),
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
    return {
      prepared,
      deps: localCallDeps(connector, call.account || undefined, auth, { signal: options.signal }),
    };
  }

  #loadRegistry(): Promise<Registry> {
    this.#registry ??= (async () => {
      const { loadRegistry } = await import('../core/connector/registry.js');
      return loadRegistry(
        localRegistryOptions(resolvePaths(this.#env), this.#env, this.#options.connectorDirs),
      );
    })();
    // A failed load (an unreadable directory) is not kept: the next call tries again.
    this.#registry.catch(() => {
      this.#registry = undefined;
    });
    return this.#registry;
  }
}
