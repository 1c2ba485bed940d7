import { readFileSync } from 'node:fs';

/** connectr's version, from package.json (two levels up from both src/core and dist/core). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Sent with every request unless the definition names its own (GitHub refuses requests without one). */
export const USER_AGENT = `connectr/${VERSION}`;
