import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../core/clock.js';
import type { Env } from '../core/paths.js';

/**
 * The streams a command talks to, and what they are connected to. Commands never touch
 * process.stdout directly, so tests run them in-process against buffers (as the GitHub CLI's
 * IOStreams does) and can pretend to be a terminal.
 */
export interface IO {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdinIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** Colour on stderr/stdout: a terminal, and neither NO_COLOR nor --no-color. */
  readonly color: boolean;
  /** Terminal width for tables; 80 when unknown. */
  readonly columns: number;
  /** Time: expiry, retries' and rate limits' waits (the system's unless a test passes its own). */
  readonly clock?: Clock;
}

export function systemIO(env: Env): IO {
  // @types/node says `true`, but isTTY is undefined when the stream is a pipe or file.
  const stdoutIsTTY = Boolean(process.stdout.isTTY as boolean | undefined);
  const stderrIsTTY = Boolean(process.stderr.isTTY as boolean | undefined);
  return {
    // Made on first use, by Node, as a stream for what fd 0 is: most commands never read it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    get stdinIsTTY() {
      return Boolean(process.stdin.isTTY as boolean | undefined);
    },
    stdoutIsTTY,
    stderrIsTTY,
    color: colorWanted(env, stdoutIsTTY || stderrIsTTY),
    columns: process.stdout.columns || 80,
  };
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR turns it on. */
export function colorWanted(
  env: Readonly<Partial<Record<'NO_COLOR' | 'FORCE_COLOR' | 'TERM', string | undefined>>>,
  tty: boolean,
): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return tty;
}

export function write(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}
