import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/server/types.js';
import type { TestServer } from './helpers.js';
import { KEY, testServer } from './helpers.js';

/**
 * What POST /mcp refuses before the protocol (the API key, the query, the body) reaches MCP
 * clients as a JSON-RPC error whose message is the reason: the official SDKs read an error
 * body only in that shape (an envelope reached the Python SDK as "Not Found" or "Server
 * returned an error response"). The envelope is its data; the status is unchanged; every
 * other route keeps the envelope.
 */

interface JsonRpcError {
  jsonrpc: string;
  id: null;
  error: { code: number; message: string; data: { code: string; message: string; hint?: string } };
}

const open: App[] = [];
async function server(options: Parameters<typeof testServer>[0] = {}): Promise<TestServer> {
  const s = await testServer(options);
  open.push(s.app);
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('POST /mcp errors are JSON-RPC errors', () => {
  it('no key, a bad key: 401 with the reason as the message', async () => {
    const { app } = await server();
    for (const [authorization, reason] of [
      [undefined, 'this route needs an API key'],
      ['Bearer ck_test_not_a_key_0123456789abcdefgh', 'the API key is not valid (unknown or revoked)'],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/mcp',
        headers: { ...MCP_HEADERS, ...(authorization ? { authorization } : {}) },
        payload: LIST,
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="connectr"/);
      const body = res.json<JsonRpcError>();
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, message: reason } });
      expect(body.error.data).toMatchObject({ code: 'auth_required', message: reason });
      expect(body.error.data.hint).toContain('Authorization: Bearer');
    }
  });

  it('a bad query and an oversized body: 400 and 413, each with its reason', async () => {
    const { app, auth } = await server({ bodyLimit: 2000 });
    const bad = await app.inject({
      method: 'POST',
      url: '/mcp?read_only=maybe',
      headers: { ...MCP_HEADERS, ...auth },
      payload: LIST,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<JsonRpcError>().error).toMatchObject({
      code: -32000,
      message: 'invalid query.read_only',
      data: { code: 'invalid_input' },
    });
    const big = await app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...MCP_HEADERS, ...auth },
      payload: { ...LIST, params: { padding: 'x'.repeat(3000) } },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json<JsonRpcError>().error).toMatchObject({
      code: -32000,
      message: 'the request body is larger than the limit of 2000 bytes',
      data: { code: 'payload_too_large' },
    });
  });

  it('a server fault is -32603, its cause not shown', async () => {
    // Built without its database: the route cannot look up a connection.
    const { app, auth } = await server();
    const res = await app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...MCP_HEADERS, ...auth, 'connection-id': 'conn_abc' },
      payload: LIST,
    });
    expect(res.statusCode).toBe(500);
    const message = `internal error (request ${String(res.headers['x-request-id'])}); the server log has the details`;
    expect(res.json<JsonRpcError>()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32603, message, data: { code: 'internal', message, details: [] } },
    });
  });

  it('every other route keeps the envelope, unknown routes included', async () => {
    const { app } = await server();
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/connectors',
      headers: { authorization: 'Bearer nope' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'auth_required' } });
    const missing = await app.inject({
      method: 'POST',
      url: '/mcp/x',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'not_found' } });
    const get = await app.inject({ method: 'GET', url: '/mcp', headers: { authorization: `Bearer ${KEY}` } });
    expect(get.statusCode).toBe(405);
    expect(get.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });
});
