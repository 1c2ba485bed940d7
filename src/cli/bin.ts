import { readFileSync } from 'node:fs';

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

const { ConnectrError } = await import('../core/errors.js');
const { EXIT } = await import('./exit-codes.js');
const { systemIO } = await import('./io.js');
const { run } = await import('./main.js');

// A reader that closes the pipe early (`connectr ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Ctrl-C asks the running command to stop and clean up (close the login server, release
// locks); a second Ctrl-C, or one that is not honoured within two seconds, ends the process.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(EXIT.cancelled);
  interrupt.abort(new ConnectrError('cancelled', 'interrupted'));
  setTimeout(() => process.exit(EXIT.cancelled), 2000).unref();
});

const { invocationOf } = await import('./invocation.js');
const code = await run(argv, systemIO(process.env), process.env, interrupt.signal, () =>
  invocationOf(process.argv[1], process.env, process.execPath),
);
// A hung keychain call (D-Bus) would keep node alive after the answer was given: exit once
// stdout has been flushed.
process.stdout.write('', () => process.exit(code));
