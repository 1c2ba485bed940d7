import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { findAccount } from '../../../core/auth/accounts.js';
import type { AuthDeps } from '../../../core/auth/deps.js';
import { credentialFromEnv } from '../../../core/auth/env-credential.js';
import { localCallDeps } from '../../../core/calls/deps.js';
import type { Connector } from '../../../core/connector/model.js';
import { ConnectrError, isConnectrError } from '../../../core/errors.js';
import { VERSION } from '../../../core/version.js';
import { programAuth } from '../../../local/auth.js';
import { MAX_ARGUMENT_BYTES } from '../../../mcp/call.js';
import type { ToolCallHost } from '../../../mcp/call.js';
import { processSeal } from '../../../mcp/cursor.js';
import { trackInFlight } from '../../../mcp/in-flight.js';
import { createMcpServer } from '../../../mcp/server.js';
import { checkGlobs, toolsOf } from '../../../mcp/tools.js';
import type { CliContext } from '../../context.js';
import type { McpFlags } from './register.js';

/** The largest binary answer (a download) a tool result carries. */
const MAX_BINARY_BYTES = 4 * 1024 * 1024;
/**
 * The longest message read from stdin (the SDK's default is 10 MiB): room for the largest
 * arguments, so that larger ones are read and refused with a message (InvalidParams), not
 * the end of the session. A longer line does end it (the SDK cannot skip one), said on stderr.
 */
const MAX_MESSAGE_BYTES = 2 * MAX_ARGUMENT_BYTES;

/**
 * `connectr mcp`: the MCP server on stdio. Standard output is the protocol and standard input
 * its requests, so nothing is ever asked and messages go to stderr only.
 */
export async function runMcp(ctx: CliContext, flags: McpFlags): Promise<void> {
  const registry = await ctx.registry();
  const notify = (message: string): void => {
    ctx.out.info(message);
  };
  const auth = programAuth(ctx.env, undefined, notify, ctx.signal, ctx.settings);
  const chosen = flags.connector?.length
    ? [...new Set(flags.connector)].map((name) => registry.require(name))
    : await signedIn(registry.connectors, auth);
  if (chosen.length === 0)
    throw new ConnectrError('auth_required', 'no connector is signed in, so there would be no tools', {
      hint: 'sign in first (connectr auth gmail), or name connectors with --connector',
    });
  const accounts = accountsOf(flags.account ?? [], chosen);
  await checkAccounts(accounts, chosen, auth);
  const tools = toolsOf(chosen, {
    readOnly: flags.readOnly === true,
    allow: checkGlobs(flags.allow ?? [], '--allow'),
    deny: checkGlobs(flags.deny ?? [], '--deny'),
  });
  if (tools.length === 0)
    throw new ConnectrError('usage', 'no tool is left after --read-only, --allow and --deny', {
      hint: "tool names are <connector>_<endpoint>: `connectr call gmail` lists gmail's endpoints",
    });

  const host: ToolCallHost = {
    env: ctx.env,
    maxBinaryBytes: MAX_BINARY_BYTES,
    cursors: processSeal(),
    tooLargeHint: (tool) =>
      `too large for a tool result (at most 4 MiB); save it with \`connectr call ${tool.connector.name} ${tool.endpoint.name} ... -o FILE\``,
    depsFor: (tool, _connection, signal) =>
      Promise.resolve(
        localCallDeps(tool.connector, accounts.get(tool.connector.name), auth, {
          signal: AbortSignal.any([signal, ctx.signal]),
        }),
      ),
  };
  const server = createMcpServer(tools, host, VERSION);
  const transport = new StdioServerTransport(ctx.io.stdin, ctx.io.stdout, {
    maxBufferSize: MAX_MESSAGE_BYTES,
  });
  server.onerror = (error) => {
    notify(`connectr mcp: ${error.message}`);
  };
  // Why the session ends: the client closed our input, the transport gave up (a line too
  // long), or a signal (Ctrl-C, SIGTERM) asked connectr to stop.
  const ended = new Promise<'input' | 'transport' | 'signal'>((resolve) => {
    transport.onclose = () => {
      resolve('transport');
    };
    ctx.io.stdin.once('end', () => {
      resolve('input');
    });
    ctx.io.stdin.once('close', () => {
      resolve('input');
    });
    ctx.signal.addEventListener(
      'abort',
      () => {
        resolve('signal');
      },
      { once: true },
    );
  });
  await server.connect(transport);
  const inFlight = trackInFlight(transport);
  notify(
    `connectr mcp: ${tools.length} tools of ${chosen.map((c) => c.name).join(', ')} on stdio${flags.readOnly ? ' (read-only)' : ''}`,
  );
  const why = await ended;
  if (why === 'input') {
    // A client that writes its requests and closes its input (`printf ... | connectr mcp`)
    // still gets their answers; one still running after the wait is answered with an error.
    // CONNECTR_MCP_DRAIN_MS, else 60 s; at most what setTimeout can wait (core/settings).
    const waitMs = ctx.settings.CONNECTR_MCP_DRAIN_MS;
    if (!(await settled(inFlight.idle(), waitMs, ctx.signal)) && !ctx.signal.aborted)
      await inFlight.abandon(
        ErrorCode.RequestTimeout,
        `connectr mcp: the call was still running ${String(waitMs / 1000)} s after the end of input, and was cancelled`,
      );
  }
  if (why !== 'transport' && inFlight.size > 0)
    await inFlight.abandon(
      ErrorCode.ConnectionClosed,
      `connectr mcp was ${reasonOf(ctx.signal)}: the call was cancelled`,
    );
  // Closing the server aborts the calls still running: their requests to the API stop.
  await server.close();
}

/** Whether `idle` came first, before `ms` or the signal. */
async function settled(idle: Promise<void>, ms: number, signal: AbortSignal): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const gaveUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, ms);
    onAbort = () => {
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([idle.then(() => true as const), gaveUp]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'stopped';
}

/** Connectors with a stored account, a token in the environment, or no sign-in at all. */
async function signedIn(connectors: readonly Connector[], auth: AuthDeps): Promise<Connector[]> {
  const withAccounts = new Set((await auth.metadata.accounts()).map((a) => a.connector));
  return connectors.filter(
    (c) => c.auth.type === 'none' || withAccounts.has(c.name) || credentialFromEnv(c, auth) !== undefined,
  );
}

/**
 * Every account --account names exists: an unknown one would start a server whose every call
 * fails. Only the accounts file is read (no secret, no passphrase asked).
 */
async function checkAccounts(
  accounts: ReadonlyMap<string, string>,
  connectors: readonly Connector[],
  auth: AuthDeps,
): Promise<void> {
  for (const [name, account] of accounts) {
    const connector = connectors.find((c) => c.name === name);
    if (!connector) continue;
    try {
      await findAccount(connector, account, auth);
    } catch (error) {
      if (!isConnectrError(error)) throw error;
      throw new ConnectrError(error.code, `--account ${name}=${account}: ${error.message}`, {
        hint: error.hint,
        details: error.details,
        cause: error,
      });
    }
  }
}

/** `--account gmail=work`, checked against the connectors served. */
function accountsOf(given: readonly string[], connectors: readonly Connector[]): Map<string, string> {
  const accounts = new Map<string, string>();
  for (const pair of given) {
    const at = pair.indexOf('=');
    const connector = at > 0 ? pair.slice(0, at) : '';
    const account = at > 0 ? pair.slice(at + 1) : '';
    if (!connector || !account)
      throw new ConnectrError('usage', `--account "${pair}" is not <connector>=<account>`, {
        hint: 'e.g. --account gmail=work',
      });
    if (!connectors.some((c) => c.name === connector))
      throw new ConnectrError(
        'usage',
        `--account ${pair}: ${connector} is not one of the connectors served`,
        {
          hint: `served: ${connectors.map((c) => c.name).join(', ')}`,
        },
      );
    accounts.set(connector, account);
  }
  return accounts;
}
