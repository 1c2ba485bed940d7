// `connectr serve` under load (issues #9, #22): requests per second and p50/p99 latency of the
// raw proxy and of POST /api/v1/proxy/execute against a local upstream, next to the floor
// (bench/floor-proxy.cjs): the least any Node proxy does here, Fastify and undici forwarding one
// route, nothing else. Targets on a 2-core machine, as ratios to the floor measured in the same
// run: raw proxy at least 60% of its requests per second and at most 1 ms more p50; execute at
// least 45%. The same load sent straight to the upstream is shown beside them (no target: the
// upstream answers from memory, so it measures autocannon and the upstream alone, and every proxy
// adds a whole server and client per request on the same two cores).
//
// The upstream, the server and the floor each run in their own process; autocannon here. The
// server runs at its defaults (log level info, its log in a file, as under a service manager).
// The three are loaded in turns, several short rounds, and each ratio is the median of the
// rounds' own ratios: a busy moment of the machine weighs on a floor and a connectr figure alike.
// The CPU time each process spent per request (Linux) is shown too: it varies far less with the
// machine's load than requests per second do.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { UPSTREAM, benchConnector as connector, firstLine, startServe, withTempHome } from './lib.mjs';

/** Ratios to the floor (bench/floor-proxy.cjs) measured in the same run (issue #22). */
const TARGETS = { rawThroughput: 0.6, rawAddedP50Ms: 1, executeThroughput: 0.45 };
const DURATION_S = Number(process.env.CONNECTR_BENCH_SERVE_SECONDS) || 4;
const ROUNDS = Number(process.env.CONNECTR_BENCH_SERVE_ROUNDS) || 3;
const CONNECTIONS = 16;

/** CPU time (user + system) a process has used, in ms; undefined where /proc is not there. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
const TICKS_PER_SECOND = 100;

/** One load; `pid`: the process serving it, whose CPU time per request is measured. */
async function load(name, options, pid) {
  const cpuBefore = pid === undefined ? undefined : cpuMs(pid);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...options });
  const cpuAfter = pid === undefined ? undefined : cpuMs(pid);
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} time-outs`,
    );
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs:
      cpuBefore === undefined || cpuAfter === undefined
        ? undefined
        : ((cpuAfter - cpuBefore) * 1000) / result.requests.total,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median of each figure over the rounds. */
function medians(runs) {
  const of = (pick) => median(runs.map(pick));
  const cpu = runs.every((r) => r.cpuUs !== undefined) ? of((r) => r.cpuUs) : undefined;
  return { rps: of((r) => r.rps), p50: of((r) => r.p50), p99: of((r) => r.p99), cpuUs: cpu };
}

const percent = (ratio) => `${(ratio * 100).toFixed(0)}%`;
const show = (f) => `${f.rps.toFixed(0)} req/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms`;
const verdict = (ok, text) => ` (target ${text}: ${ok ? 'ok' : 'MISSED'})`;
const cpu = (f) => (f.cpuUs === undefined ? 'n/a' : `${f.cpuUs.toFixed(0)} us`);

await withTempHome(async (env) => {
  const home = env.CONNECTR_HOME;
  const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  let server;
  let floorProxy;
  let base;
  let apiKey;
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
    ({ server, base, apiKey } = await startServe(serveEnv, home));
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

    const targets = {
      floor: { url: `${floorUrl}/proxy/items/1`, pid: floorProxy.pid },
      raw: {
        url: `${base}/api/v1/connections/${connection.id}/proxy/items/1`,
        headers: { authorization: `Bearer ${apiKey}` },
        pid: server.pid,
      },
      execute: {
        url: `${base}/api/v1/proxy/execute`,
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ connection_id: connection.id, endpoint: 'get_item' }),
        pid: server.pid,
      },
    };
    const upstreamLoad = { url: `${upstreamUrl}/items/1`, headers: { 'x-api-key': 'bench-key' } };
    // Warm-up (the JIT, the pools, the caches), then the rounds.
    await load('warm-up', { ...upstreamLoad, duration: 2 });
    for (const [name, { pid: _pid, ...options }] of Object.entries(targets))
      await load(`${name} warm-up`, { ...options, duration: 2 });
    const direct = await load('direct', upstreamLoad);
    const runs = { floor: [], raw: [], execute: [] };
    for (let round = 0; round < ROUNDS; round++)
      for (const [name, { pid, ...options }] of Object.entries(targets))
        runs[name].push(await load(name, options, pid));
    const ratios = runs.floor.map((floor, i) => ({
      raw: runs.raw[i].rps / floor.rps,
      rawP50: runs.raw[i].p50 - floor.p50,
      execute: runs.execute[i].rps / floor.rps,
    }));
    const floor = medians(runs.floor);
    const raw = medians(runs.raw);
    const execute = medians(runs.execute);
    const rawRatio = median(ratios.map((r) => r.raw));
    const added = median(ratios.map((r) => r.rawP50));
    const executeRatio = median(ratios.map((r) => r.execute));
    const each = (pick, format) => ratios.map((r) => format(pick(r))).join(' ');
    console.log(`serve: direct to the upstream: ${show(direct)}`);
    console.log(
      `serve: floor, a bare Fastify + undici proxy (bench/floor-proxy.cjs): ${show(floor)} = ${percent(floor.rps / direct.rps)} of direct (medians of ${ROUNDS} rounds of ${DURATION_S} s)`,
    );
    console.log(`serve: raw proxy: ${show(raw)}`);
    console.log(`serve: execute: ${show(execute)}`);
    console.log(
      `serve: raw proxy requests/s vs the floor: ${percent(rawRatio)}${verdict(rawRatio >= TARGETS.rawThroughput, `>= ${percent(TARGETS.rawThroughput)}`)}; rounds: ${each((r) => r.raw, percent)}`,
    );
    console.log(
      `serve: raw proxy p50 vs the floor: ${added >= 0 ? '+' : ''}${added.toFixed(1)} ms${verdict(added <= TARGETS.rawAddedP50Ms, `<= +${TARGETS.rawAddedP50Ms} ms`)}; rounds: ${each(
        (r) => r.rawP50,
        (ms) => `${ms >= 0 ? '+' : ''}${ms.toFixed(0)}`,
      )}`,
    );
    console.log(
      `serve: execute requests/s vs the floor: ${percent(executeRatio)}${verdict(executeRatio >= TARGETS.executeThroughput, `>= ${percent(TARGETS.executeThroughput)}`)}; rounds: ${each((r) => r.execute, percent)}`,
    );
    console.log(
      `serve: CPU time per request: floor ${cpu(floor)}, raw proxy ${cpu(raw)}, execute ${cpu(execute)}`,
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
