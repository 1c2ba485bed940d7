import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setFlagsFromString } from 'node:v8';

const argv = process.argv.slice(2);
// `connectr --version` is what scripts and package managers run most: answer it before loading
// the command tree (the same text commander would print).
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}

// undici (used behind a proxy) parses HTTP with llhttp compiled to WebAssembly; V8 then
// re-compiles it with its optimising tier on a background thread and the process waits for
// that before it exits (~100 ms after the output, and ~30 MiB). A command is too short-lived to
// gain from it: keep the baseline compiler only. Only in the CLI (a long-lived server keeps V8's defaults), and
// before undici loads. Node 20-24 know the flag; V8 only prints a warning for an unknown flag,
// so it is set only where it is known to exist.
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor >= 20 && nodeMajor <= 24) {
  try {
    setFlagsFromString('--liftoff-only');
  } catch {
    // Never worth failing a command over.
  }
}

const { ConnectrError } = await import('../core/errors.js');
const { EXIT } = await import('./exit-codes.js');
const { systemIO } = await import('./io.js');
const { run } = await import('./main.js');
const { removePendingTempFiles } = await import('../core/fs/files.js');

// A reader that closes the pipe early (`connectr ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Ctrl-C, SIGTERM and SIGHUP ask the running command to stop and clean up (close the login
// server, release locks, remove a partial download); a second signal, or one that is not
// honoured within two seconds, ends the process, still removing temporary files. The exit code
// is 128 + the signal's number, as shells report a command ended by a signal.
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
    setTimeout(() => process.exit(exitForSignal(signal)), 2000).unref();
  });
}
process.on('exit', removePendingTempFiles);

const { invocationOf } = await import('./invocation.js');
const result = await run(argv, systemIO(process.env), process.env, interrupt.signal, () =>
  invocationOf(process.argv[1], process.env, process.execPath),
);
const code = received !== undefined && result === EXIT.cancelled ? exitForSignal(received) : result;
// A hung keychain call (D-Bus) would keep node alive after the answer was given: exit once
// stdout has been flushed.
process.stdout.write('', () => process.exit(code));
