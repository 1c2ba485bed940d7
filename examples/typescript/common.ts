/** What the three examples share: the client from the environment, and the connection id. */
import { ConnectrClient, ConnectrError } from '@connectr/sdk';

/** A client of CONNECTR_URL (default http://127.0.0.1:5000) with CONNECTR_API_KEY. */
export function clientFromEnv(): ConnectrClient {
  if (!process.env.CONNECTR_API_KEY)
    fail('set CONNECTR_API_KEY (connectr serve keys create --name examples)');
  return new ConnectrClient();
}

/** The connection id: the first argument, else the environment variable `name`. */
export function connectionId(args: readonly string[], name: string): string {
  const id = args[0] ?? process.env[name];
  if (!id) fail(`give the connection id as the first argument or in ${name}`);
  return id;
}

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Runs `main`, printing a connectr error's message and hint (never a secret) and exiting 1. */
export function run(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConnectrError) {
      process.stderr.write(`error: ${error.message} (${error.code})\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    } else process.stderr.write(`error: ${String(error)}\n`);
    process.exit(1);
  });
}
