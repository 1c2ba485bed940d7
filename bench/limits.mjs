// Rate limits (issue #25): the request path's throughput, POST /api/v1/proxy/execute and the raw
// proxy, with a rate limit configured far above the load (a million requests a second per
// connection, through PUT /api/v1/connectors/{name}/limits) vs none. A limited call takes its
// turn in one SQL statement on the shared row; a connector without limits pays nothing. The
// target: a limit costs at most 10%, a ratio of at least 0.90. The two loads alternate over
// several rounds and the ratio is the median of the rounds' own ratios.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { UPSTREAM, firstLine, serveWithConnection, withTempHome } from './lib.mjs';

const TARGET_RATIO = 0.9;
const DURATION_S = Number(process.env.CONNECTR_BENCH_SERVE_SECONDS) || 4;
const ROUNDS = Number(process.env.CONNECTR_BENCH_LIMIT_ROUNDS) || 5;
const FAR_ABOVE = { limits: [{ scope: 'connection', requests: 1_000_000, per: '1s', burst: 1_000_000 }] };

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function rps(name, options) {
  const result = await autocannon({ connections: 16, duration: DURATION_S, ...options });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} time-outs`,
    );
  return result.requests.average;
}

await withTempHome(async (env) => {
  const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  let server;
  try {
    const upstreamUrl = `http://127.0.0.1:${await firstLine(upstream)}`;
    let api;
    let execute;
    let raw;
    ({ server, api, execute, raw } = await serveWithConnection(env, upstreamUrl));
    const loads = { execute, 'raw proxy': raw };
    const limits = '/api/v1/connectors/benchapi/limits';
    for (const [name, load] of Object.entries(loads)) {
      await rps(`${name}: warm-up`, { ...load, duration: 2 });
      const without = [];
      const limited = [];
      for (let round = 0; round < ROUNDS; round++) {
        without.push(await rps(`${name}, no limit`, load));
        await api('PUT', limits, FAR_ABOVE);
        limited.push(await rps(`${name}, a limit`, load));
        await api('DELETE', limits);
      }
      const ratios = without.map((w, i) => limited[i] / w);
      const ratio = median(ratios);
      console.log(
        `limits: ${name} with a limit far above the load ${median(limited).toFixed(0)} req/s vs none ${median(without).toFixed(0)} req/s = ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'ok' : 'MISSED'}); rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}`,
      );
    }
  } finally {
    if (server) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    upstream.kill();
  }
});
