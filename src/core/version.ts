import { readFileSync } from 'node:fs';
import { packagePath } from './install.js';

/** connectr's version, from its package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }
).version;

/** Sent with every request unless the definition names its own (GitHub refuses requests without one). */
export const USER_AGENT = `connectr/${VERSION}`;
