import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { processSeal } from '../../src/mcp/cursor.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { systemClock } from '../../src/core/clock.js';
import type { CredentialSource } from '../../src/core/engine/credential.js';
import type { Env } from '../../src/core/paths.js';
import type { ToolCallHost } from '../../src/mcp/call.js';
import { createMcpServer } from '../../src/mcp/server.js';
import type { Tool } from '../../src/mcp/tools.js';

/**
 * An MCP client (the official SDK's) linked in memory to connectr's MCP server: what an agent
 * sees, without a process or a socket between them. Every result and every error the client
 * got is kept (`seen`), so a test can search all of them for a secret.
 */

export type ToolResult = CallToolResult;

/**
 * tools/call through `client`, keeping every result (as JSON) and error message in `seen`:
 * what the tests search for secrets, whatever the transport.
 */
export function recordingCall(
  client: Client,
  seen: string[],
): (name: string, args?: Record<string, unknown>, signal?: AbortSignal) => Promise<ToolResult> {
  return async (name, args = {}, signal) => {
    try {
      const result = (await client.callTool(
        { name, arguments: args },
        undefined,
        signal ? { signal } : {},
      )) as ToolResult;
      seen.push(JSON.stringify(result));
      return result;
    } catch (error) {
      seen.push(error instanceof Error ? error.message : String(error));
      throw error;
    }
  };
}

export interface Connected {
  readonly client: Client;
  /** tools/call; rejects with the McpError of a protocol error. */
  call(name: string, args?: Record<string, unknown>, signal?: AbortSignal): Promise<ToolResult>;
  /** Every result (as JSON) and error message the client received, in order. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function connectInMemory(tools: readonly Tool[], host: ToolCallHost): Promise<Connected> {
  const server = createMcpServer(tools, host, '0.0.0-test');
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'connectr-test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  const seen: string[] = [];
  return {
    client,
    seen,
    call: recordingCall(client, seen),
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** The McpError a call rejected with (fails the test when it resolved). */
export async function protocolError(promise: Promise<unknown>): Promise<McpError> {
  const outcome = await promise.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome))
    throw new Error(`expected a protocol error, got ${JSON.stringify(outcome.result)}`);
  if (!(outcome.error instanceof McpError)) throw outcome.error;
  return outcome.error;
}

/** The text of a result's text contents, joined. */
export function textOf(result: ToolResult): string {
  return result.content
    .map((c) => (c.type === 'text' ? c.text : ''))
    .filter(Boolean)
    .join('\n');
}

/** The structuredContent of a result (fails the test when there is none). */
export function structured(result: ToolResult): Record<string, unknown> {
  if (!result.structuredContent) throw new Error(`no structuredContent in ${JSON.stringify(result)}`);
  return result.structuredContent;
}

/** A fixed bearer token for every connector, counting how often a credential was asked for. */
export function fakeCredentials(token: string): { source: CredentialSource; asks: () => number } {
  let asks = 0;
  return {
    asks: () => asks,
    source: {
      credential() {
        asks++;
        return Promise.resolve({ credential: { kind: 'bearer', token }, refreshable: false });
      },
    },
  };
}

/** The host of an in-process server: the fake credential source, quick attempts, no retries. */
export function testHost(env: Env, source: CredentialSource): ToolCallHost {
  return {
    env,
    maxBinaryBytes: 4 * 1024 * 1024,
    cursors: processSeal(),
    tooLargeHint: (tool) =>
      `save it with \`connectr call ${tool.connector.name} ${tool.endpoint.name} -o FILE\``,
    depsFor: (_tool, _connection, signal) =>
      Promise.resolve({ credentials: source, env, clock: systemClock, signal }),
    options: { retries: 0, timeoutMs: 10_000 },
  };
}
