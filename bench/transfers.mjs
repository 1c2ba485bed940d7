// Peak RSS of big transfers (issue #8): a download with `-o FILE`, a single-request upload and a
// OneDrive upload session, each at 50 MiB and 200 MiB, and how much the peak grows between the
// two ("memory flat as the file grows"). Targets in lib.mjs. The upstream runs in its own
// process, streams what it sends and counts (then drops) what it receives; it refuses a
// transfer whose byte count is off, and this script checks every transfer it measured, so a
// broken transfer fails the benchmark instead of giving a figure.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { get } from 'node:http';
import { parse } from 'yaml';
import { BIN, ROOT, TARGETS, peakRssMiB, reportRss, withTempHome } from './lib.mjs';

const MiB = 1024 * 1024;
const SIZES = [50 * MiB, 200 * MiB];
const RUNS = 3;
const TOKEN = 'bench-token';

// The upstream: GET /files/<size> streams <size> bytes; POST /upload/<size> takes one raw body
// of <size> bytes; /v1.0/me/drive/items/<parent>:/<name>:/createUploadSession and PUTs of byte
// ranges to its uploadUrl, as Microsoft Graph does. GET /stats lists the finished transfers.
const SERVER = `
const http = require('node:http');
const block = Buffer.alloc(256 * 1024, 'connectr bench ');
const done = [];
const sessions = new Map();
let port = 0;
let next = 0;
function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
function fail(res, status, message) {
  console.error('bench upstream: ' + message);
  json(res, status, { error: { code: 'benchFailure', message } });
}
function count(req, then) {
  let received = 0;
  req.on('data', (chunk) => { received += chunk.length; });
  req.on('end', () => then(received));
}
async function stream(res, size) {
  let sent = 0;
  while (sent < size) {
    const n = Math.min(block.length, size - sent);
    sent += n;
    if (!res.write(n === block.length ? block : block.subarray(0, n))) await new Promise((r) => res.once('drain', r));
  }
  res.once('finish', () => done.push({ kind: 'download', size, bytes: sent }));
  res.end();
}
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  let m;
  if (req.method === 'GET' && url.pathname === '/stats') return json(res, 200, done.splice(0));
  if ((m = /^\\/up\\/(\\w+)$/.exec(url.pathname))) {
    // The uploadUrl is pre-authenticated: Graph refuses a bearer token there.
    const session = sessions.get(m[1]);
    if (!session) return fail(res, 404, 'no such upload session');
    if (req.headers.authorization) return fail(res, 401, 'Authorization sent to the uploadUrl');
    if (req.method === 'DELETE') { sessions.delete(m[1]); res.writeHead(204); return res.end(); }
    const range = /^bytes (\\d+)-(\\d+)\\/(\\d+)$/.exec(req.headers['content-range'] ?? '');
    if (req.method !== 'PUT' || !range) return fail(res, 400, 'expected a PUT with Content-Range');
    const [start, end, total] = range.slice(1).map(Number);
    return count(req, (received) => {
      if (start !== session.received || end - start + 1 !== received || total !== session.size) {
        return fail(res, 416, 'range ' + req.headers['content-range'] + ' with ' + received + ' bytes; expected ' + session.received + '-/' + session.size);
      }
      session.received += received;
      session.chunks++;
      if (session.received < session.size) {
        return json(res, 202, { expirationDateTime: '2030-01-01T00:00:00Z', nextExpectedRanges: [session.received + '-'] });
      }
      sessions.delete(m[1]);
      done.push({ kind: 'session', size: session.size, bytes: session.received, chunks: session.chunks });
      json(res, 201, { id: 'item' + m[1], name: session.name, size: session.received, file: { mimeType: 'application/octet-stream' } });
    });
  }
  if (req.headers.authorization !== 'Bearer ${TOKEN}') return fail(res, 401, 'bad token');
  if (req.method === 'GET' && (m = /^\\/files\\/(\\d+)$/.exec(url.pathname))) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': m[1] });
    return void stream(res, Number(m[1]));
  }
  if (req.method === 'POST' && (m = /^\\/upload\\/(\\d+)$/.exec(url.pathname))) {
    const size = Number(m[1]);
    return count(req, (received) => {
      const declared = req.headers['content-length'];
      if (received !== size || (declared !== undefined && Number(declared) !== size)) {
        return fail(res, 400, 'upload of ' + received + ' bytes (content-length ' + declared + '); expected ' + size);
      }
      done.push({ kind: 'upload', size, bytes: received });
      json(res, 200, { id: 'upload' + next++, size: received });
    });
  }
  if (req.method === 'POST' && (m = /^\\/v1\\.0\\/me\\/drive\\/items\\/root:\\/([^/]+?)-(\\d+)\\.bin:\\/createUploadSession$/.exec(url.pathname))) {
    // The size is part of the file name, so the PUTs are checked against what was uploaded.
    return count(req, () => {
      const id = String(next++);
      sessions.set(id, { name: m[1] + '-' + m[2] + '.bin', size: Number(m[2]), received: 0, chunks: 0 });
      json(res, 200, { uploadUrl: 'http://127.0.0.1:' + port + '/up/' + id, expirationDateTime: '2030-01-01T00:00:00Z', nextExpectedRanges: ['0-'] });
    });
  }
  fail(res, 404, 'no route for ' + req.method + ' ' + url.pathname);
});
server.listen(0, '127.0.0.1', () => { port = server.address().port; console.log(port); });
`;

/** The connector of the download and the single upload, pointed at the local upstream. */
function benchConnector(url) {
  return `name: benchfiles
display_name: Bench files
version: 1
docs_url: https://example.com/docs
description: The local upstream of the transfer benchmarks.
hosts:
  api: ${url}
auth:
  type: api_key
  in: header
  name: Authorization
  prefix: 'Bearer '
endpoints:
  download:
    summary: Download a generated file of the given size.
    method: GET
    path: /files/{size}
    params:
      size:
        in: path
        required: true
    response:
      encoding: binary
  upload:
    summary: Upload a file in one request.
    method: POST
    path: /upload/{size}
    params:
      size:
        in: path
        required: true
      file:
        in: raw
        type: file
        required: true
    request:
      encoding: binary
      content_type: application/octet-stream
`;
}

/** A file of `size` bytes, written in 1 MiB pieces of a repeated pattern. */
async function sourceFile(path, size) {
  const piece = Buffer.alloc(MiB, 'connectr source ');
  const out = createWriteStream(path);
  for (let written = 0; written < size; written += piece.length) {
    if (!out.write(piece.subarray(0, Math.min(piece.length, size - written)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

/**
 * A GET on a connection of its own (not fetch's pool): between two looks the upstream closes an
 * idle kept-alive connection, and a request sent on it just then would fail.
 */
async function getJson(url) {
  const [res] = await once(get(url, { agent: false }), 'response');
  let text = '';
  for await (const data of res) text += data;
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}

const label = (size) => `${size / MiB} MiB`;
const session = parse(readFileSync(join(ROOT, 'connectors', 'onedrive.yaml'), 'utf8')).endpoints.upload
  .upload_session;
const chunkMiB = session.chunk_size / MiB;
const sessionTarget = TARGETS.transferPeakRssMiB + TARGETS.transferSessionChunks * chunkMiB;

if (!existsSync('/usr/bin/time')) {
  reportRss('transfers', 'peak RSS of transfers', undefined);
  process.exit(0);
}
const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const dir = mkdtempSync(join(tmpdir(), 'connectr-bench-transfers-'));
try {
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`the bench upstream exited (${code})`)));
    server.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  });
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'benchfiles.yaml'), benchConnector(url));

  /** The transfers the upstream finished since the last look; each must have moved every byte. */
  async function expectTransfers(kind, size) {
    const stats = await getJson(`${url}/stats`);
    const good = stats.filter((t) => t.kind === kind && t.size === size && t.bytes === size);
    if (stats.length !== RUNS || good.length !== RUNS) {
      throw new Error(`${kind} of ${size} bytes: the upstream saw ${JSON.stringify(stats)}`);
    }
    return stats;
  }

  const peaks = { download: [], upload: [], session: [] };
  await withTempHome(async (home) => {
    const env = {
      ...home,
      CONNECTR_BENCHFILES_TOKEN: TOKEN,
      CONNECTR_ONEDRIVE_GRAPH_BASE_URL: `${url}/v1.0`,
      CONNECTR_ONEDRIVE_TOKEN: TOKEN,
    };
    const node = process.execPath;
    const call = [BIN, 'call', '--connectors-dir', dir];
    for (const size of SIZES) {
      const source = join(dir, `source-${size}.bin`);
      const output = join(dir, `download-${size}.bin`);
      await sourceFile(source, size);
      try {
        // A fresh output file each run, so a short download cannot hide behind the last one.
        const fresh = () => (rmSync(output, { force: true }), env);
        const down = peakRssMiB(
          node,
          [...call, 'benchfiles', 'download', '--size', String(size), '-o', output],
          fresh,
          RUNS,
        );
        await expectTransfers('download', size);
        if (statSync(output).size !== size)
          throw new Error(`download wrote ${statSync(output).size} bytes of ${size}`);
        const up = peakRssMiB(
          node,
          [...call, 'benchfiles', 'upload', '--size', String(size), '--file', source],
          env,
          RUNS,
        );
        await expectTransfers('upload', size);
        const name = `bench-${size}.bin`;
        const sess = peakRssMiB(
          node,
          [...call, 'onedrive', 'upload', '--filename', name, '--file', source],
          env,
          RUNS,
        );
        const sessions = await expectTransfers('session', size);
        if (sessions.some((s) => s.chunks !== Math.ceil(size / session.chunk_size))) {
          throw new Error(`upload session of ${size} bytes in ${JSON.stringify(sessions)} chunks`);
        }
        peaks.download.push(down);
        peaks.upload.push(up);
        peaks.session.push(sess);
        const rss = (what, mib, target) =>
          reportRss('transfers', `peak RSS of ${what}, ${label(size)}`, mib, target);
        rss('connectr call ... -o FILE (download)', down, TARGETS.transferPeakRssMiB);
        rss('a single-request upload', up, TARGETS.transferPeakRssMiB);
        rss(`a OneDrive upload session (${chunkMiB} MiB chunks)`, sess, sessionTarget);
      } finally {
        rmSync(source, { force: true });
        rmSync(output, { force: true });
      }
    }
    const [small, big] = SIZES.map(label);
    for (const [what, [a, b]] of [
      ['the download', peaks.download],
      ['the single upload', peaks.upload],
      ['the upload session', peaks.session],
    ]) {
      // Rounded here so a slight fall prints as 0, not -0.
      const growth = a === undefined || b === undefined ? undefined : Math.round(b - a) || 0;
      reportRss(
        'transfers',
        `growth of the peak RSS of ${what} from ${small} to ${big}`,
        growth,
        TARGETS.transferGrowthMiB,
      );
    }
  });
} finally {
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}
