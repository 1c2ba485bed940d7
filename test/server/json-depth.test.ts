import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/core/json-depth.js';
import { BIN } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import type { TestServer } from './helpers.js';
import { testServer } from './helpers.js';

/**
 * JSON nested 100,000 levels deep (a few hundred KB, within the body limit) overflowed the
 * stack after parsing: a 500 on execute, -32603 on MCP. Depth is bounded where the JSON is
 * read: the daemon's body parser (a 400 in the envelope; JSON-RPC's -32700 on POST /mcp) and
 * the MCP server's tool calls (stdio: the SDK parses the line, the tool call refuses it with
 * -32600). Each names the limit; the daemon stays up.
 */

const DEEP = 100_000;
const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

let server: TestServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server.app.close();
});

describe('the daemon’s JSON bodies', () => {
  const execute = (text: string) =>
    server.app.inject({
      method: 'POST',
      url: '/api/v1/proxy/execute',
      headers: { ...server.auth, 'content-type': 'application/json' },
      payload: text,
    });

  it('a 100,000-deep body or params of execute is a 400 naming the limit', async () => {
    for (const text of [
      `{"connection_id":"conn_abc","endpoint":"get_profile","body":${deepArray(DEEP)}}`,
      `{"connection_id":"conn_abc","endpoint":"get_profile","params":{"q":${deepObject(DEEP)}}}`,
    ]) {
      expect(text.length).toBeLessThan(1024 * 1024);
      const res = await execute(text);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['x-connectr-error']).toBe('1');
      expect(res.json()).toMatchObject({
        error: { code: 'invalid_input', details: [{ field: 'body' }] },
      });
      expect(res.json<{ error: { message: string } }>().error.message).toContain(`${MAX_JSON_DEPTH} levels`);
    }
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('the limit itself is accepted: the request goes on to its own checks', async () => {
    // Within the limit the body is read; this connection is unknown to the test key's store.
    const res = await execute(
      `{"connection_id":"conn_abc","endpoint":"get_profile","body":${deepArray(MAX_JSON_DEPTH - 1)}}`,
    );
    expect(res.body).not.toContain('levels');
  });

  it('brackets inside strings do not count', async () => {
    const res = await execute(
      `{"connection_id":"conn_abc","endpoint":"get_profile","body":${JSON.stringify('['.repeat(DEEP))}}`,
    );
    expect(res.body).not.toContain('levels');
  });

  it('POST /mcp: a JSON-RPC parse error (-32700) naming the limit', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        ...server.auth,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      payload: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gmail_get_profile","arguments":{"connection_id":"conn_abc","x":${deepArray(DEEP)}}}}`,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, data: { code: 'invalid_input' } },
    });
    expect(res.json<{ error: { message: string } }>().error.message).toContain(`${MAX_JSON_DEPTH} levels`);
    // As is a body that is not JSON at all.
    const broken = await server.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        ...server.auth,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      payload: '{"jsonrpc": "2.0", "id": 1,',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ error: { code: -32700, data: { code: 'invalid_input' } } });
  });
});

describe('connectr mcp on stdio', () => {
  it('a tool call with 100,000-deep arguments is refused with -32600 naming the limit; the server goes on', async () => {
    const home = tempHome();
    const child = spawn(process.execPath, [BIN, 'mcp'], {
      env: { ...home.env, CONNECTR_GMAIL_TOKEN: 'depth-test-token' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const answer = async (id: number): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const found = stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((m) => m.id === id);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no answer ${id}: ${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      child.stdin.write(
        `${JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'raw', version: '1' },
          },
        })}\n`,
      );
      await answer(1);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      child.stdin.write(
        `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"gmail_get_profile","arguments":{"x":${deepArray(DEEP)}}}}\n`,
      );
      const refused = await answer(2);
      expect(refused).toMatchObject({ error: { code: -32600 } });
      expect((refused.error as { message: string }).message).toContain(`${MAX_JSON_DEPTH} levels`);
      // Still answering.
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' })}\n`);
      expect(await answer(3)).toHaveProperty('result');
    } finally {
      child.stdin.end();
      await exited;
      clearTimeout(timer);
      home.cleanup();
    }
  }, 40_000);
});
