import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { ConnectrError, messageOf } from '../../core/errors.js';
import { httpStatusFor } from '../errors.js';
import type { Db } from '../store/db.js';
import { runKeyRequest } from './key-operations.js';
import type { KeyEffects } from './key-operations.js';
import {
  CONTROL_CONSOLE,
  CONTROL_KEYS,
  CONTROL_PROTOCOL,
  consoleRequestSchema,
  CONTROL_ROOT,
  CONTROL_SERVICE,
  keyRequestSchema,
  MAX_REQUEST_BYTES,
} from './protocol.js';
import type { ControlErrorBody, ControlHello, KeyRequest } from './protocol.js';

/**
 * The daemon's end of the control channel (protocol.ts): a small node:http server of its own on
 * the Unix socket, apart from the REST API, so nothing of the API (routes, keys, CORS) is
 * reachable through it and it reaches nothing else. Every request is bounded: its head, its
 * body, its time, and how many are served at once.
 */

export interface ControlServerOptions {
  readonly path: string;
  readonly db: Db;
  readonly effects: KeyEffects;
  /** Runs a query, mapping a lost database to ConnectrError('unavailable') (store/open.ts guard). */
  readonly guard: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * A one-time console sign-in link for the project (`connectr serve console`); absent, the
   * channel answers 404 for it.
   */
  readonly consoleLink?: ((project: string | undefined) => Promise<string>) | undefined;
  /** A failure the client is not told the details of. */
  readonly logError: (error: unknown) => void;
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { path } = options;
  checkDirectory(dirname(path));
  await clearStaleSocket(path);

  const server = createServer(
    { maxHeaderSize: 8 * 1024, requestTimeout: 15_000, headersTimeout: 5_000, keepAliveTimeout: 1_000 },
    (request, response) => {
      handle(options, request, response).catch((error: unknown) => {
        options.logError(error);
        response.destroy();
      });
    },
  );
  server.maxConnections = 16;
  server.on('clientError', (_error, socket) => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let bound: Stats;
  try {
    // Only this user: the directory already says so, the socket says it again.
    chmodSync(path, 0o600);
    bound = lstatSync(path);
  } catch (error) {
    await closeServer(server);
    throw new ConnectrError('unavailable', `cannot secure the control socket ${path}: ${messageOf(error)}`);
  }
  return {
    path,
    async close() {
      await closeServer(server);
      // Removed only while it is still the one this server made.
      try {
        const now = lstatSync(path);
        if (now.ino === bound.ino && now.dev === bound.dev) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}

/** A key command under way may finish (briefly); idle connections go at once. */
function closeServer(server: Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** `<data dir>/server`: a real directory of this user's that no one else may enter. */
function checkDirectory(dir: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    throw new ConnectrError('unavailable', `cannot use ${dir} for the control socket: ${messageOf(error)}`);
  }
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new ConnectrError(
      'invalid_input',
      `${dir} is not a directory of this user's, so the control socket cannot be made in it`,
      { hint: 'check the data directory (CONNECTR_HOME or XDG_DATA_HOME)' },
    );
  }
  if ((stats.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/**
 * What is at the socket's path before this server binds it: nothing (the usual case), the
 * socket of a daemon that died (removed), or something else, which is refused, never followed
 * or removed: a symbolic link, a file, a directory, or a socket someone still answers on.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ConnectrError('unavailable', `cannot check ${path}: ${messageOf(error)}`);
  }
  if (!stats.isSocket()) {
    throw new ConnectrError(
      'invalid_input',
      `${path} exists and is not a socket (${kindOf(stats)}); the control socket of \`connectr serve\` goes there`,
      { hint: `remove it (rm ${JSON.stringify(path)}) and start the server again` },
    );
  }
  if (await answers(path)) {
    throw new ConnectrError('unavailable', `another server already answers on the control socket ${path}`, {
      hint: 'stop the other `connectr serve` using this data directory first',
    });
  }
  unlinkSync(path);
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a file';
  return 'a special file';
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(2000, () => {
      // Accepted but silent is still someone there.
      done(true);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

async function handle(
  options: ControlServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = request.url ?? '';
  if (url === CONTROL_ROOT && request.method === 'GET') {
    const hello: ControlHello = { service: CONTROL_SERVICE, protocol: CONTROL_PROTOCOL, pid: process.pid };
    answer(response, 200, hello);
    return;
  }
  if (url === CONTROL_CONSOLE && request.method === 'POST' && options.consoleLink) {
    await handleConsole(options, options.consoleLink, request, response);
    return;
  }
  if (url !== CONTROL_KEYS) {
    fail(response, 404, 'not_found', `no ${url} on this control channel (protocol ${CONTROL_PROTOCOL})`);
    return;
  }
  if (request.method !== 'POST') {
    fail(response, 405, 'usage', `${CONTROL_KEYS} takes POST`);
    return;
  }
  const parsed = await readJson(request, response);
  if (parsed === NO_BODY) return;
  const checked = keyRequestSchema.safeParse(parsed);
  if (!checked.success) {
    fail(
      response,
      400,
      'invalid_input',
      'not a key request',
      checked.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`),
    );
    return;
  }
  const keyRequest: KeyRequest = checked.data;
  await answerWith(options, response, () => runKeyRequest(options.db, keyRequest, options.effects));
}

/** Runs `fn` on the database and answers 200 with its result, or with its error mapped once. */
async function answerWith(
  options: ControlServerOptions,
  response: ServerResponse,
  fn: () => Promise<unknown>,
): Promise<void> {
  try {
    answer(response, 200, await options.guard(fn));
  } catch (error) {
    if (error instanceof ConnectrError && error.code !== 'internal') {
      fail(response, httpStatusFor(error.code), error.code, error.message, [...error.details], error.hint);
      return;
    }
    options.logError(error);
    fail(response, 500, 'internal', 'the server could not do it: its log says why');
  }
}

const NO_BODY = Symbol('answered');

/** The JSON body, or NO_BODY once a 413, 415 or 400 was sent for it. */
async function readJson(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
  if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
    fail(response, 415, 'invalid_input', 'the body must be application/json');
    return NO_BODY;
  }
  const body = await readBody(request, response);
  if (body === undefined) return NO_BODY;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    fail(response, 400, 'invalid_input', 'the body is not JSON');
    return NO_BODY;
  }
}

/** The body as text, or undefined once a 413 was sent for one too large. */
function readBody(request: IncomingMessage, response: ServerResponse): Promise<string | undefined> {
  const tooLarge = (): void => {
    // The rest is not read: the connection ends once the answer is out.
    request.pause();
    response.setHeader('connection', 'close');
    response.once('finish', () => {
      request.socket.destroy();
    });
    fail(response, 413, 'invalid_input', `the body is larger than ${MAX_REQUEST_BYTES} bytes`);
  };
  if (Number(request.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) {
    tooLarge();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData);
      request.off('end', onEnd);
      tooLarge();
      resolve(undefined);
    };
    const onEnd = (): void => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', reject);
    // The client went away mid-body: nothing to answer.
    request.once('close', () => {
      resolve(undefined);
    });
  });
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function fail(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  details?: string[],
  hint?: string,
): void {
  const body: ControlErrorBody = {
    error: {
      code,
      message,
      ...(hint === undefined ? {} : { hint }),
      ...(details === undefined || details.length === 0 ? {} : { details }),
    },
  };
  answer(response, status, body);
}

/** POST CONTROL_CONSOLE: a one-time console sign-in link. */
async function handleConsole(
  options: ControlServerOptions,
  consoleLink: (project: string | undefined) => Promise<string>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const parsed = await readJson(request, response);
  if (parsed === NO_BODY) return;
  const checked = consoleRequestSchema.safeParse(parsed);
  if (!checked.success) {
    fail(response, 400, 'invalid_input', 'not a console link request');
    return;
  }
  await answerWith(options, response, async () => ({ url: await consoleLink(checked.data.project) }));
}
