// `connectr serve` under load (issue #9): requests per second and p50/p99 latency of
// POST /api/v1/proxy/execute and of the raw proxy against a local upstream, next to the same
// load sent straight to that upstream, as ratios measured in the same run. Targets on a 2-core
// machine: raw proxy at least 70% of direct throughput and at most 2 ms added p50; execute at
// least 50%. The upstream, the server and the floor proxy each run in their own process;
// autocannon here. The server runs at its defaults (log level info, its log in a file).
//
// The floor (bench/floor-proxy.cjs) is the least any Node proxy does here: Fastify and undici
// forwarding one route, nothing else. It shows how much of the gap to direct is connectr's own:
// the upstream answers from memory, so direct measures autocannon and the upstream alone, and
// every proxy adds a whole server and client per request on the same two cores.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { BIN, withTempHome } from './lib.mjs';

const TARGETS = { rawThroughput: 0.7, rawAddedP50Ms: 2, executeThroughput: 0.5 };
const DURATION_S = Number(process.env.CONNECTR_BENCH_SERVE_SECONDS) || 8;
const CONNECTIONS = 16;

const UPSTREAM = `
const http = require('node:http');
const body = JSON.stringify({ id: 'item-1', name: 'a small JSON answer', size: 1234, tags: ['a', 'b'] });
const server = http.createServer((req, res) => {
  if (req.headers['x-api-key'] !== 'bench-key') { res.writeHead(401); res.end(); return; }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** A connector for the upstream: an API key in a header, one endpoint. */
const connector = (url) => `name: benchapi
display_name: Bench API
version: 1
docs_url: https://example.com/docs
description: The local upstream of bench/serve.mjs.
hosts:
  api: ${url}
auth:
  type: api_key
  in: header
  name: X-Api-Key
endpoints:
  get_item:
    summary: One item.
    method: GET
    path: /items/1
`;

function firstLine(child) {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(text.split('\n')[0].trim());
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready`)));
  });
}

/** The server's URL, from its start-up line in the log file. */
async function listening(server, logFile) {
  let exited;
  server.once('exit', (code) => (exited = code));
  for (let waited = 0; waited < 120_000; waited += 50) {
    const text = readFileSync(logFile, 'utf8');
    const m = /listening on (http:\/\/\S+)/.exec(text);
    if (m) return m[1];
    if (exited !== undefined) throw new Error(`connectr serve exited with ${exited}: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('connectr serve did not start within 120 s');
}

async function load(name, options) {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...options });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} time-outs`,
    );
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const percent = (ratio) => `${(ratio * 100).toFixed(0)}%`;
const show = (f) => `${f.rps.toFixed(0)} req/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms`;
const verdict = (ok, text) => ` (target ${text}: ${ok ? 'ok' : 'MISSED'})`;

await withTempHome(async (env) => {
  const home = env.CONNECTR_HOME;
  const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  let server;
  let floorProxy;
  try {
    const upstreamUrl = `http://127.0.0.1:${await firstLine(upstream)}`;
    floorProxy = spawn(process.execPath, [join(import.meta.dirname, 'floor-proxy.cjs'), upstreamUrl], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const floorUrl = `http://127.0.0.1:${await firstLine(floorProxy)}`;
    const connectorsDir = join(home, 'bench-connectors');
    mkdirSync(connectorsDir, { recursive: true });
    writeFileSync(join(connectorsDir, 'benchapi.yaml'), connector(upstreamUrl));
    const serveEnv = {
      ...env,
      CONNECTR_CONNECTORS_DIR: connectorsDir,
      CONNECTR_VAULT_PASSPHRASE: 'bench-passphrase-1234',
    };
    // The key is made before the server starts: PGlite has one user at a time.
    const made = spawnSync(process.execPath, [BIN, 'serve', 'keys', 'create', '--name', 'bench', '--json'], {
      env: serveEnv,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (made.status !== 0) throw new Error(`serve keys create failed: ${made.stderr}`);
    const apiKey = JSON.parse(made.stdout).key;
    // At its defaults (log level info), the log going to a file as under a service manager.
    const logFile = join(home, 'serve.log');
    const logFd = openSync(logFile, 'w');
    server = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: serveEnv,
      stdio: ['ignore', 'ignore', logFd],
    });
    closeSync(logFd);
    const base = await listening(server, logFile);
    const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const api = async (method, path, body) => {
      const r = await fetch(`${base}${path}`, { method, headers: auth, body: body && JSON.stringify(body) });
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return r.json();
    };
    const connection = await api('POST', '/api/v1/connections', {
      connector_type: 'benchapi',
      name: 'bench',
    });
    await api('PUT', `/api/v1/connections/${connection.id}/credentials`, { api_key: 'bench-key' });

    // Warm-up, then each in turn.
    await load('warm-up', {
      url: `${upstreamUrl}/items/1`,
      headers: { 'x-api-key': 'bench-key' },
      duration: 2,
    });
    const direct = await load('direct', {
      url: `${upstreamUrl}/items/1`,
      headers: { 'x-api-key': 'bench-key' },
    });
    const execute = await load('execute', {
      url: `${base}/api/v1/proxy/execute`,
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ connection_id: connection.id, endpoint: 'get_item' }),
    });
    const raw = await load('raw proxy', {
      url: `${base}/api/v1/connections/${connection.id}/proxy/items/1`,
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const floor = await load('floor proxy', { url: `${floorUrl}/proxy/items/1` });
    console.log(`serve: direct to the upstream: ${show(direct)}`);
    console.log(
      `serve: floor, a bare Fastify + undici proxy (bench/floor-proxy.cjs): ${show(floor)} = ${percent(floor.rps / direct.rps)} of direct`,
    );
    const rawRatio = raw.rps / direct.rps;
    const added = raw.p50 - direct.p50;
    console.log(
      `serve: raw proxy: ${show(raw)} = ${percent(rawRatio)} of direct${verdict(rawRatio >= TARGETS.rawThroughput, `>= ${TARGETS.rawThroughput * 100}%`)}, ${percent(raw.rps / floor.rps)} of the floor`,
    );
    console.log(
      `serve: raw proxy added p50 ${added.toFixed(1)} ms${verdict(added <= TARGETS.rawAddedP50Ms, `<= ${TARGETS.rawAddedP50Ms} ms`)}`,
    );
    const executeRatio = execute.rps / direct.rps;
    console.log(
      `serve: execute: ${show(execute)} = ${percent(executeRatio)} of direct${verdict(executeRatio >= TARGETS.executeThroughput, `>= ${TARGETS.executeThroughput * 100}%`)}, ${percent(execute.rps / floor.rps)} of the floor`,
    );
  } finally {
    if (server) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    floorProxy?.kill();
    upstream.kill();
  }
});
