// What the MCP layer adds to a call (issue #12): one tool call through the official SDK's
// Client, linked in memory to connectr's MCP server (the one `connectr mcp` runs), against a
// local upstream, next to the same call through the engine in-process (LocalEngine.execute:
// the code `connectr call` runs, without the process start), in turns, after a warm-up. Both
// take the token from CONNECTR_GMAIL_TOKEN through the same credential source. Median and
// p95 of each, as a ratio and the milliseconds added. The upstream runs in its own process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ROOT, withTempHome } from './lib.mjs';

const dist = (path) => import(join(ROOT, 'dist', path));
const { localCredentials } = await dist('core/auth/tokens.js');
const { systemClock } = await dist('core/clock.js');
const { loadRegistry } = await dist('core/connector/registry.js');
const { LocalEngine } = await dist('local/index.js');
const { programAuth } = await dist('local/auth.js');
const { createMcpServer } = await dist('mcp/server.js');
const { toolsOf } = await dist('mcp/tools.js');

const CALLS = Number(process.env.CONNECTR_BENCH_MCP_CALLS) || 300;
const WARMUP = 30;

const UPSTREAM = `
const http = require('node:http');
const body = JSON.stringify({ emailAddress: 'ann@example.com', messagesTotal: 3, threadsTotal: 2, historyId: '1' });
const server = http.createServer((req, res) => {
  if (req.headers.authorization !== 'Bearer bench-token') { res.writeHead(401); res.end(); return; }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) =>
  upstream.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
);

try {
  await withTempHome(async (home) => {
    const env = {
      ...home,
      CONNECTR_GMAIL_API_BASE_URL: `http://127.0.0.1:${port}`,
      CONNECTR_GMAIL_TOKEN: 'bench-token',
    };
    const options = { retries: 0, timeoutMs: 30_000 };

    // The engine in-process.
    const engine = new LocalEngine({ env });
    const direct = async () => {
      const answer = await engine.execute({ connector: 'gmail', endpoint: 'get_profile' }, options);
      if (answer.status !== 200) throw new Error(`get_profile answered ${answer.status}`);
    };

    // The MCP server as `connectr mcp` wires it, with the SDK's client in the same process.
    const gmail = (await loadRegistry()).require('gmail');
    const auth = programAuth(env, undefined, () => undefined, undefined);
    const host = {
      env,
      maxBinaryBytes: 4 * 1024 * 1024,
      tooLargeHint: () => 'too large',
      depsFor: (_tool, _connection, signal) =>
        Promise.resolve({
          credentials: localCredentials(gmail, undefined, auth),
          env,
          clock: systemClock,
          signal,
        }),
      options,
    };
    const server = createMcpServer(toolsOf([gmail]), host, 'bench');
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'connectr-bench', version: '1.0.0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    const viaMcp = async () => {
      const result = await client.callTool({ name: 'gmail_get_profile', arguments: {} });
      if (result.isError) throw new Error(`gmail_get_profile: ${JSON.stringify(result.content)}`);
    };

    const samples = { direct: [], mcp: [] };
    for (let i = 0; i < WARMUP + CALLS; i++) {
      for (const [name, run] of [
        ['direct', direct],
        ['mcp', viaMcp],
      ]) {
        const start = process.hrtime.bigint();
        await run();
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (i >= WARMUP) samples[name].push(ms);
      }
    }
    await client.close();
    await server.close();

    const what = `gmail_get_profile (${CALLS} calls)`;
    for (const [label, q] of [
      ['median', 0.5],
      ['p95', 0.95],
    ]) {
      const mcp = quantile(samples.mcp, q);
      const base = quantile(samples.direct, q);
      console.log(
        `mcp: tool call ${what}, ${label} ${mcp.toFixed(2)} ms vs LocalEngine.execute ${base.toFixed(2)} ms = ${(mcp / base).toFixed(2)}x, +${(mcp - base).toFixed(2)} ms`,
      );
    }
  });
} finally {
  upstream.kill();
}

function quantile(list, q) {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}
