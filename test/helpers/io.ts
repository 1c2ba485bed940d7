import { PassThrough, Writable } from 'node:stream';
import type { Clock } from '../../src/core/clock.js';
import type { IO } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';

/** A Writable that keeps what is written, for asserting on command output. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface TestIO extends IO {
  out(): string;
  err(): string;
}

export interface TestIOOptions {
  /** Pretend stdout and stderr are a terminal. */
  tty?: boolean;
  color?: boolean;
  columns?: number;
  stdin?: string;
  /** The CLI's clock (the system's by default): a VirtualClock skips waits. */
  clock?: Clock;
}

export function testIO(options: TestIOOptions = {}): TestIO {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const tty = options.tty ?? false;
  return {
    stdin,
    stdout,
    stderr,
    stdinIsTTY: tty && options.stdin === undefined,
    stdoutIsTTY: tty,
    stderrIsTTY: tty,
    color: options.color ?? false,
    columns: options.columns ?? 100,
    ...(options.clock ? { clock: options.clock } : {}),
    out: () => stdout.text,
    err: () => stderr.text,
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as `connectr <args>` would, with its own streams and environment. */
/**
 * Time that passes only when slept through: waits (rate limits' turns, Retry-After) take no
 * real time, and `slept` tells a test how long the code would have waited.
 */
export class VirtualClock implements Clock {
  private offset = 0;
  slept = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    this.offset += ms;
    this.slept += ms;
    return Promise.resolve();
  }
}

export async function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: TestIOOptions = {},
): Promise<CliResult> {
  const io = testIO(options);
  const code = await run(args, io, env);
  return { code, stdout: io.out(), stderr: io.err() };
}
