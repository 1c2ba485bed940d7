import { formatRequest, showRequest } from '../../../core/engine/inspect.js';
import { rawBodyOf } from '../../../core/engine/params.js';
import { prepareRawCall } from '../../../core/proxy/raw-call.js';
import { ConnectrError } from '../../../core/errors.js';
import { extraHeaders, jqFor } from '../../calls/extras.js';
import { checkOutputPath } from '../../calls/output.js';
import { attemptOptions, positive, sendAndPrint } from '../../calls/send.js';
import type { CliContext } from '../../context.js';
import { write } from '../../io.js';
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
  const options = attemptOptions(flags);
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

  await sendAndPrint(ctx, call, flags, {
    options,
    pages: flags.paginate ? { maxPages } : undefined,
    jq,
    ownCredential: extra.ownCredential,
  });
}
