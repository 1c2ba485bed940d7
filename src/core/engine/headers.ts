import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import { headerValue } from './request.js';

/**
 * Headers a caller adds to a request (`-H 'Name: value'`), checked before anything is sent: a
 * name as HTTP allows it (RFC 9110 token), a value without line breaks (which would start a
 * header of their own), and no header that carries a credential unless the caller says so:
 * the account's credential goes on the request by itself, and a second one would be a
 * mistake or a way to send a secret where the caller did not mean to.
 */
export interface ExtraHeaders {
  /** Lower-case names, in the order given; a name given twice keeps both values, joined by ", ". */
  readonly headers: readonly (readonly [string, string])[];
  /** Whether the caller brings a credential of their own (then none is added). */
  readonly ownCredential: boolean;
  /** The values of the credential headers given: hidden wherever the request is shown. */
  readonly secrets: readonly string[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Set by connectr on every request (the body's framing and the connection): never the caller's. */
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'te',
  'upgrade',
  'trailer',
]);

export function parseHeaders(
  given: readonly string[],
  connector: Connector,
  options: { readonly force: boolean; readonly flag?: string },
): ExtraHeaders {
  const flag = options.flag ?? '-H';
  const credentialHeaders = new Set(['authorization', 'proxy-authorization', 'cookie']);
  if (connector.auth.type === 'api_key' && connector.auth.in === 'header')
    credentialHeaders.add(connector.auth.name.toLowerCase());
  const headers: [string, string][] = [];
  const secrets: string[] = [];
  let ownCredential = false;
  for (const text of given) {
    const colon = text.indexOf(':');
    if (colon < 0)
      throw new ConnectrError('usage', `${flag} "${printable(text)}" has no colon`, {
        hint: `give a header as ${flag} 'Name: value', e.g. ${flag} 'Accept: application/json'`,
      });
    const name = text.slice(0, colon).trim();
    const value = text.slice(colon + 1).trim();
    if (!TOKEN.test(name))
      throw new ConnectrError(
        'usage',
        `${flag} "${printable(text)}": "${printable(name)}" is not a header name`,
        {
          hint: "a header name is letters, digits and !#$%&'*+-.^_`|~, with no spaces",
        },
      );
    headerValue(value, `${flag} ${name}`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower))
      throw new ConnectrError('usage', `${flag} ${name} is set by connectr itself`, {
        hint: 'leave it out: connectr frames the request and its body',
      });
    if (credentialHeaders.has(lower)) {
      if (!options.force)
        throw new ConnectrError('usage', `${flag} ${name} would replace the credential connectr adds`, {
          hint: `connectr signs the request in as your ${connector.name} account; to send your own ${name} instead (and no stored credential), add --force`,
        });
      ownCredential = true;
      if (value) secrets.push(value);
    }
    headers.push([lower, value]);
  }
  return { headers, ownCredential, secrets };
}

/** The text as it may be shown in a message: control characters escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\0-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
