import { ConnectrError } from './errors.js';
import type { ConnectrErrorOptions } from './errors.js';

/** One problem with a request, naming its field when there is one. */
export interface ErrorDetail {
  /** Where the problem is: `body.connector_type`, `params.name`, `query.limit`, a header. */
  readonly field?: string;
  readonly message: string;
}

/**
 * A ConnectrError about request fields: the server's envelope names each
 * (`details: [{field: "body.connector_type", message}]`), as schema validation errors do.
 * Given one field, its detail's message is the error's; given several, each has its own. In
 * core because core's own checks of a request (the raw proxy's rules) name fields too; the CLI
 * shows only the message and hint.
 */
export class FieldError extends ConnectrError {
  readonly fields: readonly ErrorDetail[];
  constructor(
    field: string | readonly ErrorDetail[],
    message: string,
    options: Omit<ConnectrErrorOptions, 'details'> & { readonly code?: 'invalid_input' | 'usage' } = {},
  ) {
    const { code = 'invalid_input', ...rest } = options;
    super(code, message, rest);
    this.fields = typeof field === 'string' ? [{ field, message }] : field;
  }

  /** The (first) field at fault. */
  get field(): string | undefined {
    return this.fields[0]?.field;
  }
}
