import type { Command } from 'commander';
import { endpointNamed } from '../../../core/calls/input.js';
import { prepare } from '../../../core/calls/service.js';
import type { Connector, Endpoint } from '../../../core/connector/model.js';
import { curlCommand, formatRequest, showRequest } from '../../../core/engine/inspect.js';
import { rawBodyOf } from '../../../core/engine/params.js';
import type { RawBody } from '../../../core/engine/params.js';
import { bodyEncoding } from '../../../core/engine/request.js';
import { ConnectrError } from '../../../core/errors.js';
import { jsonSyntaxError } from '../../../core/json-syntax.js';
import { endpointCommand, optionValue } from '../../calls/endpoint-flags.js';
import { accountFlag, connectorForAccount } from '../../calls/account-version.js';
import { extraHeaders, jqFor } from '../../calls/extras.js';
import { checkOutputPath } from '../../calls/output.js';
import { attemptOptions, positive, sendAndPrint } from '../../calls/send.js';
import type { CliContext } from '../../context.js';
import { write } from '../../io.js';
import { table } from '../../output.js';

/**
 * What `connectr call` itself understands, next to the endpoint's own flags (declared in
 * flags.ts).
 */
export interface CallFlags {
  account?: string;
  all?: boolean;
  maxPages?: string;
  limit?: string;
  param?: string[];
  body?: string;
  data?: string;
  header?: string[];
  force?: boolean;
  jq?: string;
  raw?: boolean;
  include?: boolean;
  output?: string;
  dryRun?: boolean;
  curl?: boolean;
  retries: string;
  timeout: string;
  verbose?: boolean;
}

/** `connectr call <connector> [endpoint] [flags]`. */
export async function callCommand(ctx: CliContext, args: readonly string[]): Promise<void> {
  const [name, endpointName, ...rest] = args;
  if (name === undefined || name.startsWith('-')) {
    await listConnectors(ctx);
    return;
  }
  const registry = await ctx.registry();
  const newest = registry.require(name);
  if (endpointName === undefined || endpointName.startsWith('-')) {
    listEndpoints(ctx, newest);
    return;
  }
  // The endpoints of the version the account was made with, while it is loaded.
  const connector = await connectorForAccount(ctx, registry, newest, accountFlag(rest));
  const endpoint = endpointNamed(
    connector,
    endpointName,
    `Run \`connectr call ${connector.name}\` to list its endpoints.`,
  );
  const command = endpointCommand(connector, endpoint, ctx.io);
  // Commander prints usage problems itself and throws; main.ts turns that into exit code 2.
  command.parse([...rest], { from: 'user' });
  await run(ctx, connector, endpoint, command);
}

async function run(
  ctx: CliContext,
  connector: Connector,
  endpoint: Endpoint,
  command: Command,
): Promise<void> {
  const flags = command.opts<CallFlags>();
  const values: Record<string, unknown> = {};
  for (const param of endpoint.params) {
    const value = optionValue(command, param);
    if (value !== undefined) values[param.key] = value;
  }
  const extraQuery: [string, string][] = [];
  for (const pair of flags.param ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConnectrError('usage', `--param "${pair}" is not name=value`);
    const [key, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    const param = endpoint.params.find((p) => p.key === key || p.wireName === key);
    if (!param) extraQuery.push([key, value]);
    else if (param.type === 'array')
      values[param.key] = [...((values[param.key] as string[] | undefined) ?? []), value];
    else values[param.key] = value;
  }
  const bodyFlag = flags.body ?? flags.data;
  const body: RawBody | undefined =
    bodyFlag === undefined
      ? undefined
      : literalOrSource(endpoint, bodyFlag, flags.body === undefined ? '--data' : '--body');
  const extra = extraHeaders(connector, flags);
  // Checks the values and builds the exact request; --dry-run and --curl show it and stop.
  const call = prepare(
    { connector, endpoint, params: values, extraQuery, body, headers: extra.headers, secrets: extra.secrets },
    ctx.env,
  );
  const { request } = call;

  if (flags.dryRun) {
    const session = endpoint.upload_session;
    if (session?.threshold === 0)
      ctx.out.info(
        `note: ${endpoint.name} runs as an upload session (${[session.start, 'the upload URL it answers', session.finish].filter(Boolean).join(', then ')}); shown is its declared request, which is never sent as it is`,
      );
    const shown = showRequest(request);
    if (ctx.out.json) ctx.out.printJson(shown);
    else write(ctx.io.stdout, formatRequest(shown));
    return;
  }
  if (flags.curl) {
    write(ctx.io.stdout, curlCommand(request, flags.account, ctx.invocation()));
    return;
  }
  // Every flag is checked before credentials are looked up or anything is sent.
  const options = attemptOptions(flags);
  if (!flags.all && (flags.maxPages !== undefined || flags.limit !== undefined)) {
    throw new ConnectrError('usage', '--max-pages and --limit go with --all');
  }
  const limits = {
    maxPages: flags.maxPages === undefined ? undefined : positive(flags.maxPages, '--max-pages'),
    limit: flags.limit === undefined ? undefined : positive(flags.limit, '--limit'),
  };
  if (flags.output) await checkOutputPath(flags.output);
  const jq = flags.jq === undefined ? undefined : await jqFor(ctx, endpoint, flags);
  if (endpoint.response?.encoding === 'binary' && ctx.io.stdoutIsTTY && !flags.output && !flags.all) {
    throw new ConnectrError(
      'usage',
      `${connector.name} ${endpoint.name} returns a file, which is not printed on a terminal`,
      {
        hint: 'save it with -o FILE, or pipe it: ... > file',
      },
    );
  }

  await sendAndPrint(ctx, call, flags, {
    options,
    pages: flags.all ? limits : undefined,
    jq,
    ownCredential: extra.ownCredential,
  });
}

/**
 * `--body '{"a":1}'`, `--body @file.json`, `--body -`. Literal text for an endpoint that takes
 * JSON (or declares no body, which is then sent as JSON) must be JSON; text, form and binary
 * endpoints take it as it is.
 */
function literalOrSource(endpoint: Endpoint, value: string, flag: string): RawBody {
  if (value === '-' || value.startsWith('@')) return rawBodyOf(value, flag);
  const encoding = bodyEncoding(endpoint);
  if (encoding === 'json' || encoding === 'none') {
    const error = jsonSyntaxError(value);
    if (error) {
      throw new ConnectrError(
        'invalid_input',
        `${flag} is not valid JSON: ${error.problem} at line ${error.line} column ${error.column}`,
        {
          hint: `${endpoint.name} takes a JSON body: put it in single quotes, e.g. ${flag} '{"name": "value"}', or read it from a file with ${flag} @body.json`,
        },
      );
    }
  }
  return { kind: 'text', text: value };
}

function listEndpoints(ctx: CliContext, connector: Connector): void {
  if (ctx.out.json) {
    ctx.out.printJson(
      connector.endpoints.map((e) => ({
        name: e.name,
        method: e.method,
        host: e.host,
        path: e.path,
        summary: e.summary,
      })),
    );
    return;
  }
  ctx.out.line(
    `${ctx.out.style.bold(connector.displayName)} endpoints: connectr call ${connector.name} <endpoint> [flags]`,
  );
  ctx.out.line();
  ctx.out.line(
    table(
      connector.endpoints,
      [
        { header: 'ENDPOINT', value: (e) => e.name },
        { header: 'METHOD', value: (e) => e.method },
        { header: 'SUMMARY', value: (e) => e.summary, shrink: true },
      ],
      ctx.io.columns,
      ctx.out.style,
    ),
  );
  ctx.out.info(ctx.out.style.dim(`\nFlags of one: connectr call ${connector.name} <endpoint> --help`));
}

async function listConnectors(ctx: CliContext): Promise<void> {
  const registry = await ctx.registry();
  ctx.out.line(
    [
      'Usage: connectr call <connector> <endpoint> [flags]',
      '',
      'Calls any endpoint of any connector. Each endpoint has its own flags:',
      '  connectr call <connector>                   lists its endpoints',
      '  connectr call <connector> <endpoint> --help  shows its flags',
      '',
      `Connectors: ${registry.connectors.map((c) => c.name).join(', ')}`,
      '',
      'Examples:',
      '  connectr call dropbox list_folder --path /',
      '  connectr call gmail list_messages --q "is:unread" --all --limit 20',
      '  connectr call onedrive download --item-id 01ABC -o report.pdf',
    ].join('\n'),
  );
}
