/**
 * `connectr/local`: connectr's engine inside a Node program, with the local CLI's accounts
 * (what `connectr auth` stored) and no daemon. The TypeScript SDK's LocalClient loads it.
 */
export { LocalEngine } from './engine.js';
export type { Answer, LocalCall, LocalCallOptions, LocalOptions, LocalPages } from './engine.js';
export { ConnectrError, ERROR_CODES, isConnectrError } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';
