import { expect } from 'vitest';
import { ConnectrError } from '../../src/core/errors.js';

/** The ConnectrError a promise rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<ConnectrError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectrError);
    return error as ConnectrError;
  }
  throw new Error('expected a ConnectrError');
}
