import { lstatSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { ConnectrError, ERROR_CODES, messageOf } from '../../core/errors.js';
import type { ErrorCode } from '../../core/errors.js';
import { CONTROL_CONSOLE, CONTROL_KEYS, CONTROL_PROTOCOL, MAX_ANSWER_BYTES } from './protocol.js';
import type { ConsoleLinkAnswer, ConsoleLinkRequest, KeyAnswers, KeyOp, KeyRequestOf } from './protocol.js';

/**
 * The command's end of the control channel (protocol.ts): sends one key request to the daemon
 * on the socket, or says no daemon is there, in which case the command opens the database
 * itself. A daemon that stops mid-request is an error, not a reason to go around it: the
 * change may or may not have been made.
 */

export type DaemonAnswer<T> = { readonly reached: true; readonly answer: T } | { readonly reached: false };

/** How long a key request may take on the daemon (a PGlite write is milliseconds). */
const ANSWER_TIMEOUT_MS = 30_000;

export async function askDaemon<Op extends KeyOp>(
  path: string,
  request: KeyRequestOf<Op>,
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<DaemonAnswer<KeyAnswers[Op]>> {
  return (await askControl(path, CONTROL_KEYS, request, timeoutMs)) as DaemonAnswer<KeyAnswers[Op]>;
}

/** A one-time console sign-in link from the daemon (`connectr serve console`). */
export async function askConsoleLink(
  path: string,
  request: ConsoleLinkRequest,
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<DaemonAnswer<ConsoleLinkAnswer>> {
  return (await askControl(path, CONTROL_CONSOLE, request, timeoutMs)) as DaemonAnswer<ConsoleLinkAnswer>;
}

async function askControl(
  path: string,
  route: string,
  request: unknown,
  timeoutMs: number,
): Promise<DaemonAnswer<unknown>> {
  if (!isOwnSocket(path)) return { reached: false };
  const body = JSON.stringify(request);
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = httpRequest(
      {
        socketPath: path,
        method: 'POST',
        path: route,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            reject(
              new ConnectrError('internal', `the server's answer is larger than ${MAX_ANSWER_BYTES} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error) => {
          reject(stoppedAnswering(path, error));
        });
        response.on('end', () => {
          try {
            resolve({
              reached: true,
              answer: decode(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')),
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        connected = true;
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(
        new ConnectrError(
          'timeout',
          `the running server did not answer the key command within ${timeoutMs / 1000} s`,
          {
            hint: 'check that `connectr serve` still runs, then `connectr serve keys list` to see what was done',
          },
        ),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof ConnectrError) {
        reject(error);
        return;
      }
      // Nobody listens: the socket of a daemon that died. The command opens the database itself.
      if (!connected && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) {
        resolve({ reached: false });
        return;
      }
      reject(stoppedAnswering(path, error));
    });
    req.end(body);
  });
}

/** A socket of this user's at `path`, not followed if it is a symbolic link. */
function isOwnSocket(path: string): boolean {
  try {
    const stats = lstatSync(path);
    const uid = process.getuid?.();
    return stats.isSocket() && (uid === undefined || stats.uid === uid);
  } catch {
    return false;
  }
}

function stoppedAnswering(path: string, error: unknown): ConnectrError {
  return new ConnectrError(
    'unavailable',
    `the running server stopped answering on ${path} before the key command finished (${messageOf(error)})`,
    {
      hint: 'it may have stopped or crashed: `connectr serve keys list` shows whether the change was made',
      cause: error,
    },
  );
}

function decode(status: number, text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ConnectrError('internal', `the server answered the key command with ${status} and no JSON`);
  }
  if (status === 200) return body;
  const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
  if (
    typeof error !== 'object' ||
    error === null ||
    !('message' in error) ||
    typeof error.message !== 'string'
  ) {
    throw new ConnectrError('internal', `the server answered the key command with ${status}`);
  }
  if (
    status === 404 &&
    'code' in error &&
    error.code === 'not_found' &&
    error.message.includes('control channel')
  ) {
    throw new ConnectrError(
      'unavailable',
      `the running server does not speak this control protocol (${CONTROL_PROTOCOL})`,
      {
        hint: 'run the key commands with the same connectr version as the server, or stop it first',
      },
    );
  }
  const code = 'code' in error && isErrorCode(error.code) ? error.code : 'internal';
  const hint = 'hint' in error && typeof error.hint === 'string' ? error.hint : undefined;
  const details =
    'details' in error && Array.isArray(error.details)
      ? error.details.filter((d): d is string => typeof d === 'string')
      : [];
  throw new ConnectrError(code, error.message, { hint, details });
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
