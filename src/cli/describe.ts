import type { Connector, ConnectorSource, Endpoint, Param } from '../core/connector/model.js';

/** Words shared by the connectors commands, so list, show and validate speak alike. */

/** `built-in`, `user`, `--connectors-dir`; with `overriding`, also which file it replaces. */
export function originLabel(source: ConnectorSource, detail: 'short' | 'full' = 'short'): string {
  const base =
    source.origin === 'builtin' ? 'built-in' : source.origin === 'user' ? 'user' : '--connectors-dir';
  if (!source.overrides) return base;
  return detail === 'full' ? `${base}, overrides ${source.overrides}` : `${base} (override)`;
}

export function authLabel(connector: Connector): string {
  const auth = connector.auth;
  switch (auth.type) {
    case 'oauth2':
      return `OAuth 2.0 (${auth.grants.map((g) => g.replace(/_/g, ' ')).join(', ')}${auth.pkce ? ', PKCE' : ''})`;
    case 'api_key':
      return `API key in ${auth.in} ${auth.name}`;
    case 'basic':
      return 'HTTP basic';
    case 'none':
      return 'none';
  }
}

/** The summary of a connector that `list --json` prints and `show --json` extends. */
export function connectorSummary(c: Connector): Record<string, unknown> {
  return {
    name: c.name,
    display_name: c.displayName,
    version: c.version,
    description: c.description,
    docs_url: c.docsUrl,
    auth: c.auth.type,
    endpoints: c.endpoints.length,
    source: c.source,
  };
}

/** `--max-results <integer>` / `--label-ids <string...>` / `--recursive`. */
export function flagUsage(p: Param): string {
  if (p.type === 'boolean') return `--${p.flag}`;
  const value = p.type === 'array' ? `${p.items ?? 'string'}...` : p.type === 'file' ? 'path|-' : p.type;
  return `--${p.flag} <${value}>`;
}

/** The text after a flag in help: description, then constraints, default, and where it is sent. */
export function paramNotes(p: Param, endpoint: Endpoint): string {
  const sentence = (text: string): string => (/[.!?)]$/.test(text) ? text : `${text}.`);
  const notes: string[] = [];
  if (p.required && p.default === undefined) notes.push('Required.');
  if (p.description) notes.push(sentence(p.description));
  if (p.enum) notes.push(`One of: ${p.enum.map(String).join(', ')}.`);
  if (p.minimum !== undefined || p.maximum !== undefined) {
    notes.push(`Range ${p.minimum ?? '-∞'}..${p.maximum ?? '∞'}.`);
  }
  if (p.default !== undefined) notes.push(`Default: ${JSON.stringify(p.default)}.`);
  notes.push(`[${paramPlacement(p, endpoint)}]`);
  return notes.join(' ');
}

/** Where a param goes, in words: `query labelIds`, `body options.path`, `Dropbox-API-Arg path`. */
export function paramPlacement(p: Param, endpoint: Endpoint): string {
  const field = p.field === undefined ? p.wireName : Array.isArray(p.field) ? p.field.join('.') : p.field;
  // An upload that is always a session (Slack) never sends its own request: the value goes to
  // the session's steps that declare the same key.
  const session = endpoint.upload_session;
  if (session?.threshold === 0 && p.in !== 'raw')
    return `upload session ${[session.start, session.finish].filter(Boolean).join(', ')}`;
  switch (p.in) {
    case 'json_header':
      return `${endpoint.request?.json_header ?? 'header'} ${field}`;
    case 'body':
      return `body ${field}`;
    case 'raw':
      return 'request body';
    default:
      return `${p.in} ${p.wireName}`;
  }
}
