// `connectr call` against a local emulator vs curl to the same URL, in the same run; plus the
// start-up ratio of the foundation issue. The emulator runs in its own process so the timed
// commands (run synchronously here) never wait on this one.
import { spawn, spawnSync } from 'node:child_process';
import { BIN, report, startupFigures, timeCommands, withTempHome } from './lib.mjs';

const SERVER = `
const http = require('node:http');
const body = JSON.stringify({ emailAddress: 'ann@example.com', messagesTotal: 3, threadsTotal: 2, historyId: '1' });
const server = http.createServer((req, res) => {
  if (req.headers.authorization !== 'Bearer bench-token') { res.writeHead(401); res.end(); return; }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) =>
  server.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
);
try {
  if (spawnSync('curl', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log('call: curl not found; skipped');
  } else {
    withTempHome((env) => {
      const url = `http://127.0.0.1:${port}`;
      const callEnv = { ...env, CONNECTR_GMAIL_API_BASE_URL: url, CONNECTR_GMAIL_TOKEN: 'bench-token' };
      const [curl, call] = timeCommands(
        [
          ['curl', ['-sf', '-H', 'Authorization: Bearer bench-token', `${url}/gmail/v1/users/me/profile`]],
          [process.execPath, [BIN, 'call', 'gmail', 'get_profile'], callEnv],
        ],
        { env },
      );
      report('call', 'connectr call gmail get_profile', call, 'curl', curl);
      // Alone, this script also gives the start-up figures; `npm run bench` has startup.mjs for them.
      if (!process.env.CONNECTR_BENCH_SUITE) startupFigures(env);
    });
  }
} finally {
  server.kill();
}
