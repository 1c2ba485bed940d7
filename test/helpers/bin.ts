import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '../../bin/connectr.cjs');

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `connectr` binary as a user would, with a time limit. */
export function runBin(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { input?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`connectr ${args.join(' ')} did not finish in time\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface RunningBin {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the first match of `pattern` in stderr. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly done: Promise<ProcessResult>;
}

/**
 * Starts the binary and lets the test talk to it while it runs (stdin, signals, stderr).
 * `fileLimit`: the most files it may open (`ulimit -n`, soft and hard), as on a small host.
 */
export function startBin(
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
  options: { fileLimit?: number } = {},
): RunningBin {
  const child =
    options.fileLimit === undefined
      ? spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      : // exec: the child is the binary itself, so signals reach it.
        spawn(
          '/bin/sh',
          ['-c', `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, process.execPath, BIN, ...args],
          { env, stdio: ['pipe', 'pipe', 'pipe'] },
        );
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    waiters.forEach((w) => {
      w();
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ProcessResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForStderr(pattern, waitMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(stderr);
          if (match) {
            clearTimeout(t);
            resolve(match);
          }
        };
        const t = setTimeout(() => {
          reject(new Error(`stderr never matched ${String(pattern)}:\n${stderr}`));
        }, waitMs);
        waiters.push(check);
        check();
      });
    },
  };
}

/** `connectr serve` processes on one database, as behind a load balancer. */
export interface ServeProcesses {
  /** Each one's `http://127.0.0.1:PORT`. */
  readonly urls: readonly string[];
  /** Stops them all (SIGTERM) and waits for them to exit. */
  stop(): Promise<void>;
}

/** Starts `count` `connectr serve --port 0` processes with `env` and waits for each to listen. */
export async function startServeProcesses(
  env: Record<string, string | undefined>,
  count: number,
): Promise<ServeProcesses> {
  const started = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+)/;
  const servers: RunningBin[] = [];
  const urls: string[] = [];
  const stop = async (): Promise<void> => {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.done));
  };
  try {
    for (let i = 0; i < count; i++) {
      const running = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 120_000);
      servers.push(running);
      const [, url = ''] = await running.waitForStderr(started, 60_000);
      urls.push(url);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, stop };
}
