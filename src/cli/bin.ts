import { ConnectrError } from '../core/errors.js';
import { EXIT } from './exit-codes.js';
import { systemIO } from './io.js';
import { run } from './main.js';

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

const code = await run(process.argv.slice(2), systemIO(process.env), process.env, interrupt.signal);
// A hung keychain call (D-Bus) would keep node alive after the answer was given: exit once
// stdout has been flushed.
process.stdout.write('', () => process.exit(code));
