import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'connectr.cjs');

/** The targets of issue #8: ratios to `node -e 0` measured in the same run, and peak RSS. */
export const TARGETS = {
  version: 1.2,
  connectorsList: 1.4,
  callWarm: 1.6,
  callEmptyHome: 1.8,
  callPeakRssMiB: 55,
  /** A 200 MiB download with `-o` or single-request upload; an upload session adds its chunks. */
  transferPeakRssMiB: 100,
  transferSessionChunks: 2,
  /** "Memory flat as the file grows": the peak at 200 MiB minus the peak at 50 MiB. */
  transferGrowthMiB: 10,
};

/**
 * Median wall time in ms of each command, run in turns (a, b, c, a, b, c...) after warm-up
 * rounds, so that a slow moment of the machine weighs on all of them alike. A command's
 * environment may be a function: it is called before each run, outside the timed part (a fresh
 * empty home per run, say).
 */
export function timeCommands(commands, { runs = 21, warmup = 3, env = process.env } = {}) {
  const samples = commands.map(() => []);
  for (let round = 0; round < warmup + runs; round++) {
    commands.forEach(([command, args, commandEnv], i) => {
      const runEnv = typeof commandEnv === 'function' ? commandEnv() : (commandEnv ?? env);
      const start = process.hrtime.bigint();
      const r = spawnSync(command, args, { env: runEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
      if (round >= warmup) samples[i].push(ms);
    });
  }
  return samples.map(median);
}

export function median(list) {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function verdict(ok, target, unit) {
  return target === undefined ? '' : ` (target <= ${target}${unit}: ${ok ? 'ok' : 'MISSED'})`;
}

/** One figure: `name: what X ms vs baseline Y ms = Rx`, with the target when there is one. */
export function report(name, what, ms, baselineName, baselineMs, target) {
  const ratio = ms / baselineMs;
  console.log(
    `${name}: ${what} ${ms.toFixed(0)} ms vs ${baselineName} ${baselineMs.toFixed(0)} ms = ${ratio.toFixed(2)}x, +${(ms - baselineMs).toFixed(0)} ms${verdict(ratio <= target, target, 'x')}`,
  );
  return ratio;
}

/**
 * Median peak resident set size in MiB of a command over a few runs, from the kernel's own
 * high-water mark as GNU time reports it; undefined where /usr/bin/time is missing. A run that
 * takes over two minutes is stopped and fails the benchmark.
 */
export function peakRssMiB(command, args, env, runs = 5) {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-bench-rss-'));
  const out = join(dir, 'rss');
  try {
    const peaks = [];
    for (let i = 0; i < runs; i++) {
      const runEnv = typeof env === 'function' ? env() : env;
      const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, command, ...args], {
        env: runEnv,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 120_000,
      });
      if (r.error?.code === 'ENOENT') return undefined;
      if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
      if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
      peaks.push(Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024);
    }
    return median(peaks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One memory figure: `name: what X MiB`, with its target. */
export function reportRss(name, what, mib, target) {
  if (mib === undefined) {
    console.log(`${name}: ${what}: /usr/bin/time not found; skipped`);
    return;
  }
  console.log(`${name}: ${what} ${mib.toFixed(0)} MiB${verdict(mib <= target, target, ' MiB')}`);
}

/**
 * A throw-away CONNECTR_HOME so benchmarks never touch the user's files. When `fn` is async, the
 * home is removed once its promise settles.
 */
export function withTempHome(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-bench-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let result;
  try {
    result = fn({ ...process.env, CONNECTR_HOME: dir, NO_COLOR: '1' });
  } catch (error) {
    cleanup();
    throw error;
  }
  if (result instanceof Promise) return result.finally(cleanup);
  cleanup();
  return result;
}

/**
 * A source of fresh, empty homes (one per run, as CI, a container or the first run after an
 * upgrade sees it), all removed by `cleanup`.
 */
export function emptyHomes(env) {
  const parent = mkdtempSync(join(tmpdir(), 'connectr-bench-empty-'));
  let n = 0;
  return {
    next: () => ({ ...env, CONNECTR_HOME: join(parent, String(n++)) }),
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}

/**
 * Node 20 reads NODE_EXTRA_CA_CERTS while it starts (later versions when TLS first needs it),
 * which can double `node -e 0` and so flatter every ratio. Where it is set, the environment
 * without it, for figures printed beside the targets' (no target of their own).
 */
export function withoutExtraCerts(env) {
  if (!env.NODE_EXTRA_CA_CERTS) return undefined;
  const { NODE_EXTRA_CA_CERTS: _unused, ...rest } = env;
  return rest;
}

/** The start-up figures: `--version` and `connectors list`, vs `node -e 0`. */
export function startupFigures(env) {
  const node = process.execPath;
  const [baseline, version, list] = timeCommands(
    [
      [node, ['-e', '0']],
      [node, [BIN, '--version']],
      [node, [BIN, 'connectors', 'list']],
    ],
    { env },
  );
  report('startup', 'connectr --version', version, 'node -e 0', baseline, TARGETS.version);
  report('startup', 'connectr connectors list', list, 'node -e 0', baseline, TARGETS.connectorsList);
  const bare = withoutExtraCerts(env);
  if (bare) {
    const [bareBaseline, bareList] = timeCommands(
      [
        [node, ['-e', '0'], bare],
        [node, [BIN, 'connectors', 'list'], bare],
      ],
      { env: bare },
    );
    report(
      'startup',
      'connectr connectors list without NODE_EXTRA_CA_CERTS',
      bareList,
      'node -e 0',
      bareBaseline,
    );
  }
}

/** The local upstream of the serve benchmarks: one small JSON answer to a request with the API key. */
export const UPSTREAM = `
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
export const benchConnector = (url) => `name: benchapi
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

export function firstLine(child) {
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

/**
 * `connectr serve` on PGlite in `home` (environment `serveEnv`), at its defaults (log level
 * info, its log in a file, as under a service manager), with an API key made before it starts
 * (PGlite has one user at a time): the process, its URL and the key.
 */
export async function startServe(serveEnv, home) {
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
  const server = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: serveEnv,
    stdio: ['ignore', 'ignore', logFd],
  });
  closeSync(logFd);
  const base = await listening(server, logFile);
  return { server, base, apiKey };
}

/**
 * Requests per second of one autocannon load (16 connections unless `options` says), refused
 * when any answer was not a 2xx, failed or timed out: a fast error is no throughput.
 */
export async function loadRps(name, options) {
  const { default: autocannon } = await import('autocannon');
  const result = await autocannon({ connections: 16, ...options });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} time-outs`,
    );
  return result.requests.average;
}

/**
 * A `connectr serve` in `env`'s home (`extra` added to its environment) with the benchapi
 * connector of `upstreamUrl` and one connection to it: the process, its URL and key, `api` for
 * its REST routes, the connection, and the two loads the benches send (execute, raw proxy).
 */
export async function serveWithConnection(env, upstreamUrl, extra = {}) {
  const home = env.CONNECTR_HOME;
  const connectorsDir = join(home, 'bench-connectors');
  mkdirSync(connectorsDir, { recursive: true });
  writeFileSync(join(connectorsDir, 'benchapi.yaml'), benchConnector(upstreamUrl));
  const { server, base, apiKey } = await startServe(
    {
      ...env,
      ...extra,
      CONNECTR_CONNECTORS_DIR: connectorsDir,
      CONNECTR_VAULT_PASSPHRASE: 'bench-passphrase-1234',
    },
    home,
  );
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const api = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? { authorization: auth.authorization } : auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? undefined : r.json();
  };
  const connection = await api('POST', '/api/v1/connections', { connector_type: 'benchapi', name: 'bench' });
  await api('PUT', `/api/v1/connections/${connection.id}/credentials`, { api_key: 'bench-key' });
  return {
    server,
    base,
    apiKey,
    api,
    connection,
    execute: {
      url: `${base}/api/v1/proxy/execute`,
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ connection_id: connection.id, endpoint: 'get_item' }),
    },
    raw: {
      url: `${base}/api/v1/connections/${connection.id}/proxy/items/1`,
      headers: { authorization: auth.authorization },
    },
  };
}
