// The call log's cost on the request path (issue #25): throughput of POST /api/v1/proxy/execute
// and of the raw proxy with the call log on (the default: a row per call, written in batches
// off the request path) vs CONNECTR_CALL_LOG=off, each on its own `connectr serve` (the setting
// is read at start) with its own PGlite home, to the same local upstream. The target: logging
// costs at most 10%, a ratio of at least 0.90. The loads alternate between the two servers over
// several rounds, and the ratio is the median of the rounds' own ratios (two shared cores make
// one round's ratio noisy).
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { UPSTREAM, firstLine, loadRps, median, serveWithConnection, withTempHome } from './lib.mjs';

const TARGET_RATIO = 0.9;
const DURATION_S = Number(process.env.CONNECTR_BENCH_SERVE_SECONDS) || 4;
const ROUNDS = Number(process.env.CONNECTR_BENCH_CALLLOG_ROUNDS) || 5;

const rps = (name, options) => loadRps(name, { duration: DURATION_S, ...options });

await withTempHome((offEnv) =>
  withTempHome(async (onEnv) => {
    const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
    const servers = [];
    try {
      const upstreamUrl = `http://127.0.0.1:${await firstLine(upstream)}`;
      const off = await serveWithConnection(offEnv, upstreamUrl, { CONNECTR_CALL_LOG: 'off' });
      servers.push(off.server);
      const on = await serveWithConnection(onEnv, upstreamUrl, { CONNECTR_CALL_LOG: 'on' });
      servers.push(on.server);

      for (const kind of ['execute', 'raw']) {
        await rps('warm-up', { ...off[kind], duration: 1 });
        await rps('warm-up', { ...on[kind], duration: 1 });
        const without = [];
        const withLog = [];
        for (let round = 0; round < ROUNDS; round++) {
          without.push(await rps(`${kind}, no call log`, off[kind]));
          withLog.push(await rps(`${kind}, call log`, on[kind]));
        }
        const ratios = without.map((w, i) => withLog[i] / w);
        const ratio = median(ratios);
        console.log(
          `calllog: ${kind === 'raw' ? 'raw proxy' : 'execute'} with the call log ${median(withLog).toFixed(0)} req/s vs off ${median(without).toFixed(0)} req/s = ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'ok' : 'MISSED'}); rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}`,
        );
      }
      // Every call was written: the log is read back through the API (a page of the newest).
      const logged = await fetch(`${on.base}/api/v1/logs?limit=1`, {
        headers: { authorization: `Bearer ${on.apiKey}` },
      });
      if (!logged.ok || (await logged.json()).logs.length !== 1)
        throw new Error('the call log holds no call after the run');
    } finally {
      for (const server of servers) {
        server.kill('SIGTERM');
        await once(server, 'exit');
      }
      upstream.kill();
    }
  }),
);
