import { constants as osConstants } from 'node:os';
import { ConnectrError } from '../core/errors.js';
import { removePendingTempFiles } from '../core/fs/files.js';
import { EXIT } from './exit-codes.js';
import { invocationOf } from './invocation.js';
import { systemIO } from './io.js';
import { run } from './main.js';
import { shutdownGraceMs } from './shutdown.js';

/**
 * The CLI as a process: real stdio, signals, exit code. The entry of the start-up bundle
 * (scripts/bundle.mjs), which `start.ts` runs; everything the process does beyond `run` is here.
 */
export async function main(argv: readonly string[]): Promise<void> {
  // A reader that closes the pipe early (`connectr ... | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });

  // Ctrl-C, SIGTERM and SIGHUP ask the running command to stop and clean up (close the login
  // server, release locks, remove a partial download); a second signal, or one that is not
  // honoured within the grace period (two seconds; `serve` asks for longer: shutdown.ts), ends
  // the process, still removing temporary files. The exit
  // code is 128 + the signal's number, as shells report a command ended by a signal.
  const interrupt = new AbortController();
  let received: NodeJS.Signals | undefined;
  const exitForSignal = (signal: NodeJS.Signals): number => 128 + osConstants.signals[signal];
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted) process.exit(exitForSignal(signal));
      received = signal;
      interrupt.abort(
        new ConnectrError('cancelled', signal === 'SIGINT' ? 'interrupted' : `stopped by ${signal}`),
      );
      setTimeout(() => process.exit(exitForSignal(signal)), shutdownGraceMs()).unref();
    });
  }
  process.on('exit', removePendingTempFiles);

  const result = await run(argv, systemIO(process.env), process.env, interrupt.signal, () =>
    invocationOf(process.argv[1], process.env, process.execPath),
  );
  const code = received !== undefined && result === EXIT.cancelled ? exitForSignal(received) : result;
  // A hung keychain call (D-Bus) would keep node alive after the answer was given: exit once
  // stdout has been flushed.
  process.stdout.write('', () => process.exit(code));
}
