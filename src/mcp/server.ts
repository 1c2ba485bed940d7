import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { MAX_JSON_DEPTH, jsonValueTooDeep } from '../core/json-depth.js';
import { closest } from '../core/suggest.js';
import { callTool, MAX_ARGUMENT_BYTES } from './call.js';
import type { ToolCallHost } from './call.js';
import type { Tool } from './tools.js';

/**
 * An MCP server (the official SDK's) offering `tools` and running them with `host`: the one
 * wiring both transports share, stdio (`connectr mcp`) and Streamable HTTP (`POST /mcp`).
 * An unknown tool and oversized arguments are protocol errors (InvalidParams); everything else
 * that goes wrong is a tool result with isError (call.ts), which an agent can read and fix.
 *
 * The SDK's low-level Server, which it marks for advanced use: its McpServer registers tools
 * from zod shapes, and connectr's tools come with JSON Schemas made from the definitions.
 */
/* eslint-disable @typescript-eslint/no-deprecated -- the low-level Server takes JSON Schemas */
export function createMcpServer(tools: readonly Tool[], host: ToolCallHost, version: string): Server {
  const server = new Server(
    { name: 'connectr', version },
    {
      capabilities: { tools: {} },
      instructions:
        'Each tool is one endpoint of an API connectr is signed in to, named <connector>_<endpoint>. connectr adds the credentials: never ask for tokens. Paginated tools answer one page and a next_cursor; pass it back as cursor for the next page.',
    },
  );
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((tool) => ({
      name: tool.name,
      title: tool.annotations.title,
      description: tool.description,
      inputSchema: { ...tool.inputSchema, type: 'object' as const },
      annotations: { ...tool.annotations },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    const tool = byName.get(name);
    if (!tool) {
      const nearest = closest(name, [...byName.keys()]);
      throw new McpError(
        ErrorCode.InvalidParams,
        `unknown tool "${name}"${nearest ? `; did you mean "${nearest}"?` : ''} (tools/list names them)`,
      );
    }
    const args = request.params.arguments ?? {};
    // Before anything recurses over them (the size below is JSON.stringify's): stdio's JSON is
    // parsed by the SDK at any depth, and 100,000 levels overflowed the stack.
    if (jsonValueTooDeep(args))
      throw new McpError(
        ErrorCode.InvalidRequest,
        `the arguments of ${name} nest deeper than ${MAX_JSON_DEPTH} levels of arrays and objects; nothing was sent`,
      );
    // Bytes, not characters: a string of 3-byte characters is three times its length.
    if (Buffer.byteLength(JSON.stringify(args)) > MAX_ARGUMENT_BYTES)
      throw new McpError(
        ErrorCode.InvalidParams,
        `the arguments of ${name} are larger than ${MAX_ARGUMENT_BYTES / (1024 * 1024)} MiB; nothing was sent`,
      );
    let result: Awaited<ReturnType<typeof callTool>>;
    try {
      result = await callTool(tool, args, host, extra.signal);
    } catch (error) {
      // Only what connectr did not expect gets here (its own errors are tool results).
      if (error instanceof McpError || extra.signal.aborted || host.internalError === undefined) throw error;
      throw new McpError(ErrorCode.InternalError, host.internalError(error));
    }
    return { ...result, content: [...result.content] };
  });
  return server;
}
/* eslint-enable @typescript-eslint/no-deprecated */
