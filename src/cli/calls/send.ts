import { send, items, succeeded } from '../../core/calls/service.js';
import { parseDuration } from '../../core/duration.js';
import { showRequest } from '../../core/engine/inspect.js';
import type { InvokeOptions, PreparedCall } from '../../core/engine/invoke.js';
import type { PageLimits } from '../../core/engine/paginate.js';
import { UpstreamError } from '../../core/engine/response.js';
import { ConnectrError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { escapeJson } from '../escape.js';
import type { JqFilter } from '../jq.js';
import { jsonAnswer, terminalInvokeDeps, writeJq } from './extras.js';
import type { ExtraFlags } from './extras.js';
import { printResponse } from './output.js';

/**
 * The part of `connectr call` and `connectr api` after the request is prepared: their flags'
 * retries and time limit, then the call through core/calls and its answer printed (every item
 * as a JSON line with --all / --paginate; else the one answer, an error answer in the API's
 * words).
 */

/** `--retries` and `--timeout`, checked before anything is sent. */
export function attemptOptions(flags: { readonly retries: string; readonly timeout: string }): InvokeOptions {
  return {
    retries: nonNegative(flags.retries, '--retries'),
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
  };
}

/** How `call` or `api` runs its prepared request: as whom, how patiently, and how it prints. */
export interface SendFlags extends ExtraFlags {
  readonly account?: string | undefined;
  readonly verbose?: boolean | undefined;
}

export interface Sending {
  readonly options: InvokeOptions;
  /** With --all or --paginate: every item, within these limits. */
  readonly pages?: PageLimits | undefined;
  readonly jq?: JqFilter | undefined;
  /** -H carries the caller's own credential: none of connectr's is added. */
  readonly ownCredential: boolean;
}

/**
 * Sends a prepared request and prints what comes back: with `pages`, every item as one JSON line
 * (or jq's output) as its page arrives, so a pipe sees items while later pages load; else the
 * one answer, an error answer thrown as the UpstreamError that words it (main.ts prints it),
 * after its status and body on stdout for --json without --include.
 */
export async function sendAndPrint(
  ctx: CliContext,
  call: PreparedCall,
  flags: SendFlags,
  sending: Sending,
): Promise<void> {
  const { connector, endpoint } = call.request;
  const { options, jq } = sending;
  const { deps, bar } = terminalInvokeDeps(ctx, connector, {
    account: flags.account,
    verbose: flags.verbose,
    ownCredential: sending.ownCredential,
  });
  if (flags.verbose)
    ctx.out.info(ctx.out.style.dim(`> ${call.request.method} ${showRequest(call.request).url}`));
  if (sending.pages) {
    for await (const item of items(call, deps, sending.pages, options)) {
      if (jq) writeJq(ctx, await jq.apply(item));
      else ctx.io.stdout.write(`${escapeJson(JSON.stringify(item))}\n`);
    }
    return;
  }
  const response = await send(call, deps, options);
  bar.finish();
  try {
    await succeeded(call, response);
  } catch (error) {
    if (error instanceof UpstreamError && ctx.out.json && flags.include !== true)
      ctx.out.printJson({ error: { status: error.status, body: error.body } });
    throw error;
  }
  if (jq) {
    writeJq(ctx, await jq.apply(await jsonAnswer(connector, endpoint, response)));
    return;
  }
  await printResponse(ctx, endpoint, response, {
    raw: flags.raw === true,
    include: flags.include === true,
    output: flags.output,
  });
}

export function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ConnectrError('invalid_input', `${flag} "${value}" is not a positive whole number`);
  return n;
}

export function nonNegative(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConnectrError('invalid_input', `${flag} "${value}" is not a whole number`);
  return n;
}
