// Outgoing webhooks (issue #23): deliveries per second from `connectr serve` to a local
// receiver while events are recorded as fast as the API makes connections, next to that
// recording rate (no target; 1.00x: the deliveries keep up with the events; on PGlite both are
// bounded by its commits), with the receiver loaded straight by autocannon shown beside; and
// the request path's throughput, POST /api/v1/proxy/execute, with a webhook endpoint configured
// vs none. The outbox is written only by connection changes, never by a call, so the target is
// that an endpoint costs execute at most 5%: a ratio of at least 0.95. The two loads alternate
// over several rounds and the ratio is the median of the rounds' own ratios.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { UPSTREAM, firstLine, loadRps, median, serveWithConnection, withTempHome } from './lib.mjs';

const TARGET_RATIO = 0.95;
const DURATION_S = Number(process.env.CONNECTR_BENCH_SERVE_SECONDS) || 4;
// Seven rounds, not serve.mjs's three: the target is a 5% difference, and on two shared cores one
// round's ratio ranged from 0.8 to 1.5 with nothing changed, so a median of three met or missed
// it by chance.
const ROUNDS = Number(process.env.CONNECTR_BENCH_WEBHOOK_ROUNDS) || 7;
const EVENTS = Number(process.env.CONNECTR_BENCH_WEBHOOK_EVENTS) || 600;

/** A receiver answering 204 to every POST and counting them; GET answers the count. */
const RECEIVER = `
const http = require('node:http');
let received = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'POST') { received++; res.writeHead(204); res.end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ received }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const rps = (name, options) => loadRps(name, { duration: DURATION_S, ...options });

await withTempHome(async (env) => {
  const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  const receiver = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let server;
  try {
    const upstreamUrl = `http://127.0.0.1:${await firstLine(upstream)}`;
    const receiverUrl = `http://127.0.0.1:${await firstLine(receiver)}`;
    let api;
    let execute;
    ({ server, api, execute } = await serveWithConnection(env, upstreamUrl));
    const received = async () => (await (await fetch(receiverUrl)).json()).received;

    // Execute with no endpoint vs one, alternating; the endpoint is made and deleted between.
    await rps('warm-up', { ...execute, duration: 2 });
    const without = [];
    const withHook = [];
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await rps('execute, no webhook', execute));
      const hook = await api('POST', '/api/v1/webhooks', { url: `${receiverUrl}/hooks` });
      withHook.push(await rps('execute, a webhook', execute));
      await api('DELETE', `/api/v1/webhooks/${hook.id}`);
    }
    const ratios = without.map((w, i) => withHook[i] / w);
    const ratio = median(ratios);

    // Deliveries: EVENTS events recorded (one connection each, so none waits for another), then
    // the time until the receiver has them all.
    const direct = await rps('receiver, direct', {
      url: `${receiverUrl}/hooks`,
      method: 'POST',
      body: '{}',
      duration: 2,
    });
    await api('POST', '/api/v1/webhooks', { url: `${receiverUrl}/hooks` });
    const before = await received();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < EVENTS) {
          next++;
          await api('POST', '/api/v1/connections', { connector_type: 'benchapi', name: `c${next}` });
        }
      }),
    );
    const recorded = performance.now();
    while ((await received()) - before < EVENTS) {
      if (performance.now() - started > 120_000)
        throw new Error('the deliveries did not arrive within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const perSecond = EVENTS / seconds;
    const recordedPerSecond = EVENTS / ((recorded - started) / 1000);
    console.log(
      `webhooks: ${perSecond.toFixed(0)} deliveries/s (${EVENTS} in ${seconds.toFixed(2)} s) vs events recorded ${recordedPerSecond.toFixed(0)}/s = ${(perSecond / recordedPerSecond).toFixed(2)}x; the receiver loaded directly: ${direct.toFixed(0)} req/s`,
    );
    console.log(
      `webhooks: execute with a webhook endpoint ${median(withHook).toFixed(0)} req/s vs none ${median(without).toFixed(0)} req/s = ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'ok' : 'MISSED'}); rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}`,
    );
  } finally {
    if (server) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    receiver.kill();
    upstream.kill();
  }
});
