import { systemIO } from './io.js';
import { run } from './main.js';

// A reader that closes the pipe early (`connectr ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await run(process.argv.slice(2), systemIO(process.env), process.env);
