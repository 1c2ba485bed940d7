/**
 * LocalClient: connector calls in this process with the accounts of the local connectr CLI
 * (what `connectr auth` stored in the keychain), no daemon. It loads connectr's engine
 * (`connectr/local`, from the `connectr` package) on first use, so this package still depends
 * on nothing at run time: programs that use only ConnectrClient never load it.
 */
import type { RequestOptions } from './client.js';
import { ConnectrError, ConnectrTimeoutError, InvalidInputError, errorFor } from './errors.js';
import type { ConnectorTransport, ExecuteAllRequest, ExecuteRequest, ExecuteResult } from './types.js';

/** The part of `connectr/local` this client uses (typed here, so that no types come from connectr). */
export interface LocalEngineModule {
  readonly LocalEngine: new (options: LocalEngineOptions) => LocalEngineInstance;
}

interface LocalEngineOptions {
  env?: Record<string, string | undefined>;
  connectorDirs?: readonly string[];
  passphrase?: string;
  maxResponseBytes?: number;
  onNotice?: (message: string) => void;
}

interface LocalEngineCall {
  connector: string;
  account?: string;
  endpoint: string;
  params?: Record<string, unknown>;
  body?: unknown;
  bytes?: Uint8Array;
  maxPages?: number;
  limit?: number;
}

interface LocalEngineCallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  retries?: number;
}

interface LocalEngineInstance {
  execute(
    call: LocalEngineCall,
    options: LocalEngineCallOptions,
  ): Promise<{
    status: number;
    headers: Record<string, string>;
    content_type: string | null;
    encoding: 'json' | 'text' | 'binary' | 'none';
    body: unknown;
    result?: unknown;
  }>;
  executeAll(call: LocalEngineCall, options: LocalEngineCallOptions): AsyncGenerator<unknown, void>;
}

export interface LocalClientOptions {
  /** The environment: CONNECTR_HOME, base-URL overrides, CONNECTR_VAULT_PASSPHRASE... Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Connector directories besides the built-in and user ones, as the CLI's --connectors-dir. */
  connectorDirs?: readonly string[];
  /** The encrypted file store's passphrase, when the accounts are there (default: CONNECTR_VAULT_PASSPHRASE). */
  passphrase?: string;
  /** Time limit of each attempt to start answering, and of each pause in a transfer, in ms (default 30 000). */
  timeoutMs?: number;
  /** Retries of a failed idempotent attempt (default 2). */
  maxRetries?: number;
  /** The largest answer `execute` holds in memory, in bytes (default 64 MiB). */
  maxResponseBytes?: number;
  /** Told what the CLI would say on stderr (e.g. that secrets fell back to the encrypted file). */
  onNotice?: (message: string) => void;
  /**
   * connectr's engine module, when `import('connectr/local')` cannot find it (a bundler, or
   * connectr installed elsewhere): `engine: await import('connectr/local')`.
   */
  engine?: LocalEngineModule;
}

/**
 * Runs connector endpoints in this process, signed in as the local CLI's accounts:
 *
 *   const gmail = new GmailConnector(new LocalClient());          // the default gmail account
 *   const work = new GmailConnector(new LocalClient(), 'work');   // connectr auth gmail --account work
 *
 * It answers like ConnectrClient's execute (the same ExecuteResult, the same typed errors), so
 * the generated connector classes work with either. Needs the `connectr` package installed
 * next to this one (`npm install connectr`), and an account signed in with `connectr auth`.
 */
export class LocalClient implements ConnectorTransport {
  /** The connection id that means "the connector's default account". */
  static readonly DEFAULT_ACCOUNT = '';

  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly #options: LocalClientOptions;
  #engine: Promise<LocalEngineInstance> | undefined;

  constructor(options: LocalClientOptions = {}) {
    this.#options = options;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 2;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0)
      throw new InvalidInputError('invalid_input', 'timeoutMs must be a positive whole number of ms', {
        details: [{ field: 'timeoutMs', message: 'not a positive whole number' }],
      });
    if (!Number.isSafeInteger(this.maxRetries) || this.maxRetries < 0)
      throw new InvalidInputError('invalid_input', 'maxRetries must be a whole number (0 or more)', {
        details: [{ field: 'maxRetries', message: 'not a whole number' }],
      });
  }

  /**
   * Runs one endpoint. `connection_id` names the local account (as `connectr call --account`;
   * empty: the default one) and `connector` the connector. The answer, whatever its status, with
   * `body` as parsed JSON, text, a Uint8Array (binary) or null.
   */
  async execute<T = unknown>(input: ExecuteRequest, options?: RequestOptions): Promise<ExecuteResult<T>> {
    const engine = await this.#load();
    const answer = await this.#guard(options, () =>
      engine.execute(callOf(input), this.#callOptions(options)),
    );
    const { encoding, ...rest } = answer;
    // The engine's bytes are a Buffer: handed out as the Uint8Array ConnectrClient gives.
    if (encoding === 'binary') {
      const bytes = answer.body as Uint8Array;
      return {
        ...rest,
        encoding: 'base64',
        body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) as T,
      };
    }
    return { ...rest, encoding, body: rest.body as T };
  }

  /** Every item of every page, as each page arrives (the engine follows the endpoint's pagination). */
  async *executeAll<T = unknown>(
    input: ExecuteAllRequest,
    options?: RequestOptions,
  ): AsyncGenerator<T, void, undefined> {
    const engine = await this.#load();
    const { max_pages, limit, ...rest } = input;
    const items = engine.executeAll(
      {
        ...callOf(rest),
        ...(max_pages === undefined ? {} : { maxPages: max_pages }),
        ...(limit === undefined ? {} : { limit }),
      },
      this.#callOptions(options),
    );
    for (;;) {
      const next = await this.#guard(options, () => items.next());
      if (next.done) return;
      yield next.value as T;
    }
  }

  #callOptions(options: RequestOptions | undefined): LocalEngineCallOptions {
    return {
      timeoutMs: options?.timeoutMs ?? this.timeoutMs,
      retries: options?.maxRetries ?? this.maxRetries,
      ...(options?.signal ? { signal: options.signal } : {}),
    };
  }

  /** The engine's errors as this package's typed errors; the caller's own abort as it is. */
  async #guard<R>(options: RequestOptions | undefined, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (error) {
      if (options?.signal?.aborted) throw options.signal.reason;
      throw typedError(error);
    }
  }

  #load(): Promise<LocalEngineInstance> {
    this.#engine ??= (async () => {
      const module = this.#options.engine ?? (await importEngine());
      const { engine: _, timeoutMs: __, maxRetries: ___, ...options } = this.#options;
      try {
        return new module.LocalEngine(options);
      } catch (error) {
        throw typedError(error);
      }
    })();
    // A failed load is not kept: installing connectr and calling again works.
    this.#engine.catch(() => {
      this.#engine = undefined;
    });
    return this.#engine;
  }
}

// A variable, so bundlers and tsc leave the optional module alone.
const ENGINE_MODULE = 'connectr/local';

async function importEngine(): Promise<LocalEngineModule> {
  let module: unknown;
  try {
    module = await import(ENGINE_MODULE);
  } catch (error) {
    const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
    const text = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_MODULE_NOT_FOUND' && text.includes("'connectr'"))
      throw new ConnectrError(
        'not_found',
        'LocalClient needs the connectr package, which is not installed here',
        {
          hint: 'npm install connectr (the CLI whose accounts LocalClient uses), or pass { engine: await import("connectr/local") }',
          cause: error,
        },
      );
    if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw tooOld(error);
    throw new ConnectrError('internal', `LocalClient could not load ${ENGINE_MODULE}: ${text}`, {
      hint: 'reinstall connectr (npm install connectr), or use ConnectrClient with a connectr serve daemon',
      cause: error,
    });
  }
  if (typeof (module as Partial<LocalEngineModule>).LocalEngine !== 'function') throw tooOld(undefined);
  return module as LocalEngineModule;
}

function tooOld(cause: unknown): ConnectrError {
  return new ConnectrError(
    'internal',
    `the installed connectr has no ${ENGINE_MODULE}: it is too old for LocalClient`,
    {
      hint: 'update it: npm install connectr@latest',
      cause,
    },
  );
}

function callOf(input: ExecuteRequest): LocalEngineCall {
  if (typeof input.connector !== 'string' || input.connector === '')
    throw new InvalidInputError('invalid_input', "LocalClient needs the connector's name in `connector`", {
      details: [{ field: 'connector', message: 'missing' }],
      hint: 'the generated connector classes (GmailConnector...) set it; with execute, pass e.g. { connector: "gmail", ... }',
    });
  if (typeof input.connection_id !== 'string')
    throw new InvalidInputError(
      'invalid_input',
      'connection_id must be a string: the account name, or "" for the default',
      {
        details: [{ field: 'connection_id', message: 'not a string' }],
      },
    );
  if (input.body !== undefined && input.bytes !== undefined)
    throw new InvalidInputError('invalid_input', 'give body or bytes, not both', {
      details: [{ field: 'bytes', message: 'give body or bytes, not both' }],
    });
  return {
    connector: input.connector,
    ...(input.connection_id === '' ? {} : { account: input.connection_id }),
    endpoint: input.endpoint,
    ...(input.params === undefined ? {} : { params: input.params }),
    ...(input.body === undefined ? {} : { body: input.body }),
    ...(input.bytes === undefined ? {} : { bytes: input.bytes }),
  };
}

/** connectr's errors carry code, message, hint and detail lines; anything else is a bug. */
function typedError(error: unknown): ConnectrError {
  if (error instanceof ConnectrError) return error;
  const { code, message, hint, details } = (
    typeof error === 'object' && error !== null ? error : {}
  ) as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string')
    return new ConnectrError(
      'internal',
      `connectr's engine failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  const init = {
    ...(typeof hint === 'string' ? { hint } : {}),
    details: Array.isArray(details)
      ? details.filter((d): d is string => typeof d === 'string').map((message) => ({ message }))
      : [],
    cause: error,
  };
  // The engine's time-out is this client's own (as ConnectrClient's is), not a server's.
  if (code === 'timeout') return new ConnectrTimeoutError(message, init);
  return errorFor(code, message, init);
}
