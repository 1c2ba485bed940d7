// `connectr call` against a local emulator, as a ratio to `node -e 0` measured in the same run,
// on a warm home and on an empty one (CI, containers, every upgrade), with its peak RSS; curl to
// the same URL for comparison. The same for a connector of the user's own (--connectors-dir):
// on an empty home its definition is read and validated before the call (issue #20). Targets in lib.mjs (issue #8). The emulator runs in its own
// process so the timed commands (run synchronously here) never wait on this one.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BIN,
  TARGETS,
  emptyHomes,
  peakRssMiB,
  report,
  reportRss,
  startupFigures,
  timeCommands,
  withTempHome,
  withoutExtraCerts,
} from './lib.mjs';

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
  withTempHome((env) => {
    const url = `http://127.0.0.1:${port}`;
    const callEnv = { ...env, CONNECTR_GMAIL_API_BASE_URL: url, CONNECTR_GMAIL_TOKEN: 'bench-token' };
    const empty = emptyHomes(callEnv);
    const ownEnv = { ...env, CONNECTR_PROFILES_TOKEN: 'bench-token' };
    const ownEmpty = emptyHomes(ownEnv);
    try {
      const hasCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
      const node = process.execPath;
      const callArgs = [BIN, 'call', 'gmail', 'get_profile'];
      const ownDir = join(env.CONNECTR_HOME, 'own-connectors');
      mkdirSync(ownDir, { recursive: true });
      writeFileSync(join(ownDir, 'profiles.yaml'), ownConnector(url));
      const ownArgs = [BIN, '--connectors-dir', ownDir, 'call', 'profiles', 'get_profile', '--user', 'me'];
      const [baseline, warm, cold, ownWarm, ownCold, curl] = timeCommands(
        [
          [node, ['-e', '0']],
          [node, callArgs, callEnv],
          [node, callArgs, empty.next],
          [node, ownArgs, ownEnv],
          [node, ownArgs, ownEmpty.next],
          ...(hasCurl
            ? [
                [
                  'curl',
                  ['-sf', '-H', 'Authorization: Bearer bench-token', `${url}/gmail/v1/users/me/profile`],
                ],
              ]
            : []),
        ],
        { env },
      );
      report('call', 'connectr call gmail get_profile', warm, 'node -e 0', baseline, TARGETS.callWarm);
      report('call', 'the same call, empty home', cold, 'node -e 0', baseline, TARGETS.callEmptyHome);
      report(
        'call',
        'connectr --connectors-dir DIR call profiles',
        ownWarm,
        'node -e 0',
        baseline,
        TARGETS.callWarm,
      );
      report('call', 'the same call, empty home', ownCold, 'node -e 0', baseline, TARGETS.callEmptyHome);
      const bare = withoutExtraCerts(callEnv);
      if (bare) {
        const [bareBaseline, bareWarm] = timeCommands(
          [
            [node, ['-e', '0'], bare],
            [node, callArgs, bare],
          ],
          { env: bare },
        );
        report('call', 'the same call without NODE_EXTRA_CA_CERTS', bareWarm, 'node -e 0', bareBaseline);
      }
      if (hasCurl) report('call', 'connectr call gmail get_profile', warm, 'curl', curl);
      else console.log('call: curl not found; the comparison with curl is skipped');
      reportRss('call', 'peak RSS of the call', peakRssMiB(node, callArgs, callEnv), TARGETS.callPeakRssMiB);
      reportRss(
        'call',
        'peak RSS of the call, empty home',
        peakRssMiB(node, callArgs, empty.next),
        TARGETS.callPeakRssMiB,
      );
    } finally {
      empty.cleanup();
      ownEmpty.cleanup();
    }
    // Alone, this script also gives the start-up figures; `npm run bench` has startup.mjs for them.
    if (!process.env.CONNECTR_BENCH_SUITE) startupFigures(env);
  });
} finally {
  server.kill();
}

/** A connector of the user's own for the same local API: an API key sent as a bearer token. */
function ownConnector(url) {
  return `name: profiles
display_name: Profiles
version: 1
docs_url: https://example.com/docs
description: A local API standing in for one a user describes.
hosts:
  api: ${url}
auth:
  type: api_key
  in: header
  name: Authorization
  prefix: "Bearer "
endpoints:
  get_profile:
    summary: A user's profile.
    method: GET
    path: /gmail/v1/users/{user}/profile
    params:
      user: { in: path, required: true, description: "The user, or me." }
`;
}
