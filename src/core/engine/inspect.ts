import type { Connector } from '../connector/model.js';
import { quote, shellWord } from '../shell.js';
import type { PreparedRequest } from './request.js';
import type { ResponseInfo } from './send.js';

/**
 * A request shown instead of sent: --dry-run prints it exactly (the body byte for byte as it
 * would be sent), with the credential and any secret param replaced by placeholders; --curl
 * prints an equivalent curl command that fetches the token from `connectr token` when it runs,
 * so no secret is ever printed.
 */

const REDACTED = '<redacted>';

export interface ShownRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export function showRequest(req: PreparedRequest): ShownRequest {
  const hide = (text: string): string => redact(text, req.secrets);
  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  const credential = credentialPlaceholder(req.connector);
  if (credential?.where === 'query') url.searchParams.set(credential.name, credential.value);
  if (credential?.where === 'header') headers[credential.name] = credential.value;
  for (const [name, value] of Object.entries(req.headers)) headers[name] = hide(value);
  const body = bodyText(req);
  return {
    method: req.method,
    url: hide(url.toString()),
    headers,
    ...(body === undefined ? {} : { body: hide(body) }),
  };
}

/** The request as text, like an HTTP/1.1 message. */
export function formatRequest(shown: ShownRequest): string {
  const lines = [
    `${shown.method} ${shown.url}`,
    ...Object.entries(shown.headers).map(([k, v]) => `${titleCase(k)}: ${v}`),
  ];
  if (shown.body !== undefined) lines.push('', shown.body);
  return lines.join('\n');
}

/**
 * A curl command that sends `req` when pasted into a POSIX shell. Every value is shell-quoted;
 * the credential comes from `$(<invocation> token …)` when the command runs. `invocation` is how
 * to run connectr from a shell, ready to paste (the CLI passes how the user ran it).
 */
export function curlCommand(
  req: PreparedRequest,
  account: string | undefined,
  invocation = 'connectr',
): string {
  const token = `$(${invocation} token ${shellWord(req.connector.name)}${account === undefined ? '' : ` --account ${shellWord(account)}`})`;
  const url = new URL(req.url);
  const parts: string[] = ['curl'];
  if (req.method === 'HEAD') parts.push('--head');
  else if (req.method !== 'GET' || req.body.kind !== 'none') parts.push('-X', req.method);
  const auth = req.connector.auth;
  let urlText = quote(redact(url.toString(), req.secrets));
  const headers: string[] = [];
  switch (auth.type) {
    case 'oauth2':
      headers.push(`-H "Authorization: Bearer ${token}"`);
      break;
    case 'api_key':
      if (auth.in === 'header')
        headers.push(`-H "${escapeDouble(auth.name)}: ${escapeDouble(auth.prefix ?? '')}${token}"`);
      else {
        // A URL-safe placeholder, swapped for the command substitution inside double quotes.
        url.searchParams.set(auth.name, '__CONNECTR_TOKEN__');
        urlText = `"${escapeDouble(redact(url.toString(), req.secrets)).replace('__CONNECTR_TOKEN__', token)}"`;
      }
      break;
    case 'basic':
      // Expanded by the shell when the command runs (the names are A-Z, 0-9 and _ only).
      headers.push(`--user "$${auth.username_env}:$${auth.password_env}"`);
      break;
    case 'none':
      break;
  }
  parts.push(urlText);
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'content-length') continue;
    headers.push(`-H ${quote(`${titleCase(name)}: ${redact(value, req.secrets)}`)}`);
  }
  const lines = [parts.join(' '), ...headers];
  switch (req.body.kind) {
    case 'json':
    case 'form':
      lines.push(`--data-raw ${quote(redact(req.body.text, req.secrets))}`);
      break;
    case 'raw': {
      const source = req.body.source;
      if (source.kind === 'file') lines.push(`--data-binary @${quote(source.path)}`);
      else if (source.kind === 'stdin') lines.push('--data-binary @-');
      else if (source.kind === 'text') lines.push(`--data-binary ${quote(source.text)}`);
      else lines.push(`--data-binary @- # ${source.data.length} bytes`);
      break;
    }
    case 'none':
      break;
  }
  return lines.join(' \\\n  ');
}

function credentialPlaceholder(
  connector: Connector,
): { where: 'header' | 'query'; name: string; value: string } | undefined {
  const auth = connector.auth;
  switch (auth.type) {
    case 'oauth2':
      return { where: 'header', name: 'authorization', value: `Bearer ${REDACTED}` };
    case 'api_key':
      return {
        where: auth.in,
        name: auth.in === 'header' ? auth.name.toLowerCase() : auth.name,
        value: `${auth.prefix ?? ''}${REDACTED}`,
      };
    case 'basic':
      return { where: 'header', name: 'authorization', value: `Basic ${REDACTED}` };
    case 'none':
      return undefined;
  }
}

function bodyText(req: PreparedRequest): string | undefined {
  switch (req.body.kind) {
    case 'none':
      return undefined;
    // The bytes that are sent, as they are sent: a body shown re-indented would not be the one
    // a server receives (its length, its signature, a byte-exact test of it would differ).
    case 'json':
    case 'form':
      return req.body.text;
    case 'raw': {
      const source = req.body.source;
      if (source.kind === 'file') return `<contents of ${source.path}>`;
      if (source.kind === 'stdin') return '<standard input>';
      if (source.kind === 'bytes') return `<${source.data.length} bytes>`;
      return source.text;
    }
  }
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join(REDACTED);
    }
  }
  return out;
}

function titleCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => `${dash}${c.toUpperCase()}`);
}

function escapeDouble(text: string): string {
  return text.replace(/[\\"$`]/g, (c) => `\\${c}`);
}

/** Response headers whose value is a secret, or can be one (a session, a token handed back). */
const SECRET_RESPONSE_HEADER =
  /^(set-cookie2?|authorization|proxy-authorization|cookie)$|token|secret|password|api-?key|session/i;

/**
 * An answer's head as --verbose shows it: `< 200 OK (52 ms)`, then its headers, with the values
 * of those that carry secrets replaced, and the credential's query parameter hidden in a
 * Location (an API-key connector's key could come back in a redirect).
 */
export function formatResponseHead(info: ResponseInfo, connector: Connector, statusText: string): string {
  const lines = [
    `< ${info.status} ${statusText} (${Math.round(info.ms)} ms) ${info.method} ${hideCredential(info.url.toString(), connector)}`,
  ];
  for (const [name, value] of Object.entries(info.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      const shown = SECRET_RESPONSE_HEADER.test(name)
        ? REDACTED
        : name === 'location'
          ? hideCredential(one, connector)
          : one;
      lines.push(`< ${titleCase(name)}: ${shown}`);
    }
  }
  return lines.join('\n');
}

function hideCredential(text: string, connector: Connector): string {
  const auth = connector.auth;
  if (auth.type !== 'api_key' || auth.in !== 'query') return text;
  try {
    const url = new URL(text);
    if (url.searchParams.has(auth.name)) url.searchParams.set(auth.name, REDACTED);
    return url.toString();
  } catch {
    return text;
  }
}
