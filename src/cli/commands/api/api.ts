import { parseDuration } from '../../../core/duration.js';
import { formatRequest, showRequest } from '../../../core/engine/inspect.js';
import { invoke, invokeAll } from '../../../core/engine/invoke.js';
import { rawBodyOf } from '../../../core/engine/params.js';
import { prepareRawCall } from '../../../core/proxy/raw-call.js';
import { isErrorAnswer, upstreamError } from '../../../core/engine/response.js';
import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';
import { escapeJson } from '../../escape.js';
import { write } from '../../io.js';
import { extraHeaders, jqFor, jsonAnswer, terminalInvokeDeps, writeJq } from '../../request/extras.js';
import { nonNegative, positive } from '../../request/numbers.js';
import { checkOutputPath, printResponse } from '../../request/output.js';
import type { ApiFlags } from './register.js';

/**
 * `connectr api <connector> <path>`: everything is checked (the target on the connector's
 * hosts, headers, fields, flags, the jq expression) before the account is read or anything
 * is sent; then the request runs through the same engine as `connectr call`
 * (core/proxy/raw-call.ts builds it).
 */
export async function apiCommand(
  ctx: CliContext,
  name: string,
  target: string,
  flags: ApiFlags,
): Promise<void> {
  const connector = (await ctx.registry()).require(name);
  const extra = extraHeaders(connector, flags);
  const { call, matched } = prepareRawCall(
    {
      connector,
      method: flags.method,
      target,
      host: flags.host,
      fields: flags.field,
      body:
        flags.input === undefined
          ? undefined
          : rawBodyOf(flags.input === '-' ? '-' : `@${flags.input}`, '--input'),
      headers: extra.headers,
      secrets: extra.secrets,
    },
    ctx.env,
  );
  const { request } = call;
  if (flags.dryRun) {
    const shown = showRequest(request);
    if (ctx.out.json) ctx.out.printJson(shown);
    else write(ctx.io.stdout, formatRequest(shown));
    return;
  }
  const options = {
    retries: nonNegative(flags.retries, '--retries'),
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
  };
  if (!flags.paginate && flags.maxPages !== undefined)
    throw new ConnectrError('usage', '--max-pages goes with --paginate');
  if (flags.paginate && (flags.output || flags.include || flags.raw))
    throw new ConnectrError(
      'usage',
      '--paginate prints one JSON line per item: drop -o, --include and --raw',
    );
  const maxPages = flags.maxPages === undefined ? undefined : positive(flags.maxPages, '--max-pages');
  if (flags.output) await checkOutputPath(flags.output);
  const jq = flags.jq === undefined ? undefined : await jqFor(ctx, matched, flags);

  const { deps, bar } = terminalInvokeDeps(ctx, connector, {
    account: flags.account,
    verbose: flags.verbose,
    ownCredential: extra.ownCredential,
  });
  if (flags.verbose) ctx.out.info(ctx.out.style.dim(`> ${request.method} ${showRequest(request).url}`));

  if (flags.paginate) {
    for await (const item of invokeAll(call, deps, { ...options, maxPages })) {
      if (jq) writeJq(ctx, await jq.apply(item));
      else ctx.io.stdout.write(`${escapeJson(JSON.stringify(item))}\n`);
    }
    return;
  }
  const response = await invoke(call, deps, options);
  bar.finish();
  if (isErrorAnswer(response)) {
    const error = await upstreamError(connector, request.endpoint, response);
    if (ctx.out.json && flags.include !== true)
      ctx.out.printJson({ error: { status: error.status, body: error.body } });
    throw error;
  }
  if (jq) {
    writeJq(ctx, await jq.apply(await jsonAnswer(connector, request.endpoint, response)));
    return;
  }
  await printResponse(ctx, request.endpoint, response, {
    raw: flags.raw === true,
    include: flags.include === true,
    output: flags.output,
  });
}
