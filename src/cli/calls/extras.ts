import { STATUS_CODES } from 'node:http';
import type { Connector, Endpoint } from '../../core/connector/model.js';
import type { CredentialSource } from '../../core/engine/credential.js';
import { parseHeaders } from '../../core/engine/headers.js';
import type { ExtraHeaders } from '../../core/engine/headers.js';
import { formatResponseHead } from '../../core/engine/inspect.js';
import { responseKind } from '../../core/engine/response.js';
import { TEXT_LIMIT } from '../../core/engine/response-body.js';
import type { HttpResponse, ResponseInfo } from '../../core/engine/send.js';
import { ConnectrError } from '../../core/errors.js';
import { localCredentials } from '../../core/auth/tokens.js';
import { callDeps } from '../../core/calls/deps.js';
import type { Clock } from '../../core/clock.js';
import { MemoryLimitStore } from '../../core/limits/gcra.js';
import { limiterFor } from '../../core/limits/limiter.js';
import type { AttemptLimiter } from '../../core/limits/limiter.js';
import type { InvokeDeps } from '../../core/engine/invoke.js';
import { cliAuth } from '../auth-deps.js';
import type { CliContext } from '../context.js';
import { progressBar } from '../progress.js';
import type { Progress } from '../progress.js';
import { escapeControls } from '../escape.js';
import type { JqFilter, JqOutput } from '../jq.js';

/**
 * What `connectr call` and `connectr api` both add around a request: `-H` headers (checked by
 * core/engine/headers.ts), `--jq` output filtering, and `--verbose` answers on stderr.
 */

export interface ExtraFlags {
  readonly header?: readonly string[] | undefined;
  readonly force?: boolean | undefined;
  readonly jq?: string | undefined;
  readonly raw?: boolean | undefined;
  readonly output?: string | undefined;
  readonly include?: boolean | undefined;
}

export function extraHeaders(connector: Connector, flags: ExtraFlags): ExtraHeaders {
  if (flags.force && !flags.header?.length)
    throw new ConnectrError('usage', '--force goes with -H', {
      hint: "e.g. -H 'Authorization: Bearer …' --force, to send a credential of your own",
    });
  return parseHeaders(flags.header ?? [], connector, { force: flags.force === true });
}

/** With a credential header of the caller's own: none of connectr's is added or refreshed. */
export const NO_CREDENTIAL: CredentialSource = {
  credential: () => Promise.resolve({ credential: { kind: 'none' }, refreshable: false }),
};

/** The --jq filter, checked (and jq loaded) before anything is sent. */
export async function jqFor(
  ctx: CliContext,
  endpoint: Endpoint | undefined,
  flags: ExtraFlags,
): Promise<JqFilter> {
  for (const [given, name] of [
    [flags.output, '-o'],
    [flags.raw, '--raw'],
    [flags.include, '--include'],
  ] as const) {
    if (given)
      throw new ConnectrError('usage', `--jq and ${name} do not go together`, { hint: `drop one of them` });
  }
  const declared = endpoint?.response?.encoding;
  if (endpoint && (declared === 'binary' || declared === 'text'))
    throw new ConnectrError(
      'usage',
      `--jq filters JSON, and ${endpoint.name} answers ${declared === 'binary' ? 'a file' : 'text'}`,
      {
        hint: declared === 'binary' ? 'save it with -o FILE instead' : 'drop --jq',
      },
    );
  const { compileJq } = await import('../jq.js');
  return compileJq(flags.jq ?? '', { compact: ctx.out.json || !ctx.io.stdoutIsTTY });
}

/** jq's output as it came (control characters escaped on a terminal), then the error jq stopped with. */
export function writeJq(ctx: CliContext, output: JqOutput): void {
  if (output.text !== '') ctx.io.stdout.write(ctx.io.stdoutIsTTY ? escapeControls(output.text) : output.text);
  if (output.error) throw output.error;
}

/** A successful answer's JSON, for --jq; an answer that is not JSON is an error naming its type. */
export async function jsonAnswer(
  connector: Connector,
  endpoint: Endpoint,
  response: HttpResponse,
): Promise<unknown> {
  const kind = responseKind(endpoint, response);
  const type = response.headers['content-type'];
  if (kind !== 'json') {
    await response.body.dump();
    throw new ConnectrError(
      'invalid_input',
      `--jq filters JSON, and ${connector.name} answered ${kind === 'empty' ? 'nothing' : String(type ?? kind)}`,
      { hint: 'run without --jq to see the answer' },
    );
  }
  const text = await response.body.text(TEXT_LIMIT);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConnectrError('upstream', `${connector.name} answered invalid JSON, which --jq cannot filter`, {
      hint: 'run without --jq (with --raw) to see the answer as it came',
    });
  }
}

/**
 * What the engine needs from the terminal for one call of `call` or `api`: the account's
 * credential (none when the caller brought their own), stdin and local files, retries told
 * (always when the wait is long), an upload's progress bar, and --verbose answers.
 */
export function terminalInvokeDeps(
  ctx: CliContext,
  connector: Connector,
  options: {
    readonly account?: string | undefined;
    readonly verbose?: boolean | undefined;
    readonly ownCredential: boolean;
  },
): { readonly deps: InvokeDeps; readonly bar: Progress } {
  const { deps: auth } = cliAuth(ctx);
  const bar = progressBar(ctx.io, 'Uploading');
  const credentials = options.ownCredential
    ? NO_CREDENTIAL
    : localCredentials(connector, options.account, auth);
  const deps = callDeps(credentials, {
    env: ctx.env,
    clock: auth.clock,
    stdin: () => ctx.io.stdin,
    localFiles: true,
    signal: ctx.signal,
    onRetry: ({ attempt, waitMs, reason }) => {
      if (options.verbose || waitMs >= 2000)
        ctx.out.info(ctx.out.style.dim(`${reason}; retry ${attempt} in ${(waitMs / 1000).toFixed(1)} s`));
    },
    onUpload: (sent, total) => {
      bar.update(sent, total);
    },
    ...(options.verbose ? { onResponse: verboseResponse(ctx, connector) } : {}),
    limiter: localLimiter(connector, auth.clock, (waitMs) => {
      if (options.verbose || waitMs >= 2000)
        ctx.out.info(ctx.out.style.dim(`rate limit; next call in ${(waitMs / 1000).toFixed(1)} s`));
    }),
  });
  return { deps, bar };
}

/**
 * The connector's declared rate limits, kept in this process (`call --all` and `api --paginate`
 * take each page's turn; so do retries): the core's algorithm on memory, one budget for the run.
 * A terminal waits as long as a turn takes (Ctrl-C stops it), rather than failing a long listing.
 */
function localLimiter(
  connector: Connector,
  clock: Clock,
  onDelayed: (waitMs: number) => void,
): AttemptLimiter | undefined {
  const limits = connector.rateLimits;
  if (!limits || limits.limits.length === 0) return undefined;
  return limiterFor({
    connector,
    limits,
    maxWaitMs: Number.POSITIVE_INFINITY,
    scopeKey: (scope) => scope,
    store: new MemoryLimitStore(),
    clock,
    onDelayed,
  });
}

/** --verbose: each answer's status, headers (secrets hidden) and time, on stderr. */
export function verboseResponse(ctx: CliContext, connector: Connector): (info: ResponseInfo) => void {
  return (info) => {
    ctx.out.info(
      ctx.out.style.dim(escapeControls(formatResponseHead(info, connector, STATUS_CODES[info.status] ?? ''))),
    );
  };
}
