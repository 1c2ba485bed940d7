import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod';
import type { Connector } from '../../../core/connector/model.js';
import { ConnectrError } from '../../../core/errors.js';
import { connectorOf } from '../../services/connections.js';
import { VERSION } from '../../../core/version.js';
import type { ToolCallHost } from '../../../mcp/call.js';
import { createMcpServer } from '../../../mcp/server.js';
import { MAX_GLOBS, MAX_GLOB_LENGTH } from '../../../mcp/glob.js';
import { checkGlobs, toolsOf } from '../../../mcp/tools.js';
import { callTarget } from '../../credentials/target.js';
import {
  ERROR_HEADER,
  FieldError,
  JsonRpcErrorSchema,
  envelope,
  internalErrorMessage,
  loggedFault,
} from '../../errors.js';
import { connectionId } from '../../input.js';
import { identityOf } from '../../plugins/auth.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';
import { MAX_EXECUTE_RESPONSE_BYTES, connectionCallDeps } from '../proxy/execute.js';
import { callerMaxWait } from '../../limits/max-wait.js';

/** The largest binary answer a tool result carries (base64 in JSON-RPC: a third more on the wire). */
const MAX_BINARY_BYTES = 4 * 1024 * 1024;

// Bounded here, before anything is compiled: each glob is matched against every tool name.
const glob = z.string().min(1).max(MAX_GLOB_LENGTH, `a glob has at most ${MAX_GLOB_LENGTH} characters`);
const globs = z.union(
  [
    glob,
    z.array(glob).max(MAX_GLOBS, `at most ${MAX_GLOBS} globs (each alternative of a {…} counts as one)`),
  ],
  {
    // Else a list over the bound is only "Invalid input": say which bound, as a string would.
    error: (issue) => issue.errors.flat().find((i) => i.code !== 'invalid_type')?.message,
  },
);
const McpQuery = z.strictObject({
  connection_id: ConnectionParams.shape.id
    .optional()
    .describe('The connection every tool calls with; else each tool takes a connection_id argument.'),
  read_only: z.enum(['true', 'false']).optional().describe('true: only GET and HEAD endpoints.'),
  allow: globs
    .optional()
    .describe(
      `Only tools whose name matches, e.g. gmail_* (repeatable; at most ${MAX_GLOBS} globs of at most ${MAX_GLOB_LENGTH} characters).`,
    ),
  deny: globs
    .optional()
    .describe(`Leave out tools whose name matches (repeatable; the same bounds as allow).`),
});

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * `POST /mcp`: the MCP server over Streamable HTTP, stateless (every request stands alone, so
 * any instance sharing the database answers it): the same tools and rules as `connectr mcp`,
 * run through the same core functions as `/api/v1/proxy/execute`. The API key's project bounds
 * what it reaches: a connection of another project is a 404 (chosen for the request) or a
 * tool error (given as an argument), and nothing is sent upstream. What is refused before the
 * protocol (the API key, the connection, the query, the body) is a JSON-RPC error with the
 * reason as its message and the error envelope as its data.
 */
export function registerMcp(app: App, context: RouteContext): void {
  app.post(
    '/mcp',
    {
      // MCP clients show a JSON-RPC error's message; an envelope would reach them as "Not Found".
      config: { jsonRpcErrors: true },
      schema: {
        summary: 'The MCP server (Streamable HTTP): connector endpoints as tools',
        description:
          'JSON-RPC 2.0 as the Model Context Protocol defines it (initialize, tools/list, tools/call), stateless: no Mcp-Session-Id. Choose the connection with the Connection-Id header (or connection_id) or the connection_id query parameter; without one, every tool takes a connection_id argument. Send Accept: application/json, text/event-stream.',
        tags: ['mcp'],
        querystring: McpQuery,
        response: {
          400: JsonRpcErrorSchema,
          401: JsonRpcErrorSchema,
          404: JsonRpcErrorSchema,
          406: JsonRpcErrorSchema,
          500: JsonRpcErrorSchema,
          503: JsonRpcErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const maxWaitMs = callerMaxWait(request.headers);
      checkAccept(request.headers.accept);
      const data = requireData(context);
      const registry = await context.deps.registry();
      const chosen = request.query.connection_id ?? connectionHeader(request.headers);
      // The chosen connection is the project's, or this is a 404 before any protocol.
      const target = chosen === undefined ? undefined : await callTarget(data, projectId, chosen);
      const connectors: readonly Connector[] = target
        ? [connectorOf(registry, target.connection)].filter((c): c is Connector => c !== undefined)
        : registry.connectors;
      const tools = toolsOf(
        connectors,
        {
          readOnly: request.query.read_only === 'true',
          allow: checkGlobs(list(request.query.allow), 'allow'),
          deny: checkGlobs(list(request.query.deny), 'deny'),
        },
        { connectionArgument: target === undefined },
      );
      const env = context.deps.env ?? {};
      const host: ToolCallHost = {
        env,
        maxBinaryBytes: Math.min(MAX_BINARY_BYTES, MAX_EXECUTE_RESPONSE_BYTES),
        // Sealed with the server's encryption key: any instance opens them, for this project only.
        cursors: {
          seal: (payload, bound) =>
            Buffer.from(data.keys.encrypt(payload, `mcp cursor\n${projectId}\n${bound}`)).toString(
              'base64url',
            ),
          open(sealed, bound) {
            try {
              return data.keys.decrypt(
                Buffer.from(sealed, 'base64url').toString('utf8'),
                `mcp cursor\n${projectId}\n${bound}`,
              );
            } catch {
              return undefined;
            }
          },
        },
        tooLargeHint: () =>
          'too large for a tool result (at most 4 MiB); fetch it through the raw proxy, GET /api/v1/connections/{id}/proxy/{path}, which streams it',
        internalError(error) {
          request.log.error({ err: loggedFault(error) }, 'tool call failed');
          return internalErrorMessage(request.id);
        },
        async depsFor(tool, connection, signal) {
          const { connection: found } =
            target ?? (await callTarget(data, projectId, connectionArgument(connection)));
          if (found.connector !== tool.connector.name)
            throw new ConnectrError(
              'invalid_input',
              `connection ${found.id} is a ${found.connector} connection, not ${tool.connector.name}`,
              { hint: `call it with a ${tool.connector.name} connection` },
            );
          // Without a chosen connection the tools are the newest versions': one pinned to another
          // version is called with its own version's tools, never this one's shape.
          if (found.connectorVersion !== tool.connector.version)
            throw new ConnectrError(
              'invalid_input',
              `connection ${found.id} uses ${found.connector} version ${found.connectorVersion}; this tool is of version ${tool.connector.version}`,
              { hint: `connect with ?connection_id=${found.id} to get its version's tools` },
            );
          const trace = context.calls.begin(request, reply, {
            kind: 'mcp',
            connection: found,
            connector: tool.connector,
            endpoint: tool.endpoint.name,
          });
          return trace.deps(connectionCallDeps(context, found, tool.connector, signal, maxWaitMs));
        },
        ended: (deps, error) => {
          context.calls.ended(deps, error);
        },
      };
      const server = createMcpServer(tools, host, VERSION);
      // No sessionIdGenerator: stateless.
      const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
      // From here the SDK writes the answer; a client that goes away cancels the calls.
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    },
  );
  // Stateless: no event stream to open (GET) and no session to end (DELETE).
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      schema: { hide: true },
      // Not in the Allow header of /mcp's 405s: this route exists only to refuse.
      config: { refusesMethod: true },
      handler: async (_request, reply) =>
        reply
          .code(405)
          .header('allow', 'POST')
          .header(ERROR_HEADER, '1')
          .send(
            envelope(
              'method_not_allowed',
              `${method} /mcp is not offered: this MCP server is stateless`,
              [],
              'send each JSON-RPC message with POST /mcp',
            ),
          ),
    });
  }
}

/**
 * Streamable HTTP's rule, checked before the MCP SDK would answer it with a JSON-RPC error of
 * its own (no envelope in its data): a POST accepts both JSON and an event stream.
 */
function checkAccept(accept: string | undefined): void {
  // The SDK's own test, so that what passes here passes there (a wildcard does not).
  if (accept?.includes('application/json') === true && accept.includes('text/event-stream')) return;
  throw new ConnectrError(
    'not_acceptable',
    'POST /mcp answers application/json or text/event-stream: the Accept header must name both',
    { hint: 'send "Accept: application/json, text/event-stream"' },
  );
}

/** A tool's connection_id argument, checked as the query parameter is: nothing else reaches the database. */
function connectionArgument(given: string | undefined): string {
  const checked = connectionId.safeParse(given);
  if (checked.success) return checked.data;
  throw new ConnectrError(
    'invalid_input',
    `connection_id: ${checked.error.issues[0]?.message ?? 'not a connection id'}`,
    { hint: 'give the id of one of this project’s connections (GET /api/v1/connections lists them)' },
  );
}

/** The `Connection-Id` (or `connection_id`) header, checked as the query parameter is. */
function connectionHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const given = headers['connection-id'] ?? headers.connection_id;
  if (given === undefined) return undefined;
  const checked = ConnectionParams.shape.id.safeParse(Array.isArray(given) ? given.join(',') : given);
  if (checked.success) return checked.data;
  throw new FieldError('headers.connection-id', checked.error.issues[0]?.message ?? 'not a connection id', {
    hint: 'send one connection id, e.g. Connection-Id: conn_…',
  });
}
