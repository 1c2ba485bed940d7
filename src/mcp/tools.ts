import type { Connector, Endpoint } from '../core/connector/model.js';
import { isIdempotent } from '../core/engine/send.js';
import { ConnectrError } from '../core/errors.js';
import { GlobSyntaxError, MAX_GLOBS, compileGlob, globMatches } from './glob.js';
import type { Glob } from './glob.js';
import { extraArguments, inputSchema } from './input-schema.js';
import type { ExtraArguments, JsonSchema } from './input-schema.js';

/**
 * Every endpoint of the chosen connectors as an MCP tool, `<connector>_<endpoint>`, with no
 * code per tool: the input schema from the definition, the description from its summary, and
 * annotations from its method (what an agent may do without asking).
 */

export interface ToolAnnotations {
  readonly title: string;
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: true;
}

export interface Tool {
  readonly name: string;
  readonly connector: Connector;
  readonly endpoint: Endpoint;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly annotations: ToolAnnotations;
  readonly extra: ExtraArguments;
}

/** Which tools a server offers: safe methods only, and name globs to allow and deny. */
export interface ToolFilter {
  readonly readOnly?: boolean | undefined;
  /** Globs of tool names (`gmail_*`); when given, only matching tools. */
  readonly allow?: readonly string[] | undefined;
  /** Globs of tool names left out, after `allow`. */
  readonly deny?: readonly string[] | undefined;
}

export interface ToolOptions {
  /** Each tool takes the connection as an argument (the daemon, when none was chosen). */
  readonly connectionArgument?: boolean | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
/** MCP's limit on tool names: 1 to 128 of A-Z a-z 0-9 _ - . */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function toolName(connector: Connector, endpoint: Endpoint): string {
  return `${connector.name}_${endpoint.name}`;
}

export function toolsOf(
  connectors: readonly Connector[],
  filter: ToolFilter = {},
  options: ToolOptions = {},
): Tool[] {
  const allowed = filter.allow?.length ? matcher(filter.allow, 'allow') : undefined;
  const denied = filter.deny?.length ? matcher(filter.deny, 'deny') : undefined;
  const tools: Tool[] = [];
  for (const connector of connectors) {
    for (const endpoint of connector.endpoints) {
      const name = toolName(connector, endpoint);
      if (!TOOL_NAME.test(name)) continue;
      const readOnly = SAFE_METHODS.has(endpoint.method);
      if (filter.readOnly && !readOnly) continue;
      if (allowed && !allowed(name)) continue;
      if (denied?.(name)) continue;
      const extra = extraArguments(endpoint, options.connectionArgument === true);
      tools.push({
        name,
        connector,
        endpoint,
        description: describe(connector, endpoint, extra),
        inputSchema: inputSchema(endpoint, extra),
        annotations: {
          title: `${connector.displayName}: ${endpoint.summary.replace(/\.$/, '')}`,
          readOnlyHint: readOnly,
          destructiveHint: !readOnly && (endpoint.destructive ?? endpoint.method === 'DELETE'),
          idempotentHint: isIdempotent(endpoint.method, endpoint.idempotent),
          openWorldHint: true,
        },
        extra,
      });
    }
  }
  return tools;
}

/**
 * Glob lists as the CLI and the daemon take them, checked so a typo is not silently nothing and
 * bounded so that what they cost is (src/mcp/glob.ts): at most MAX_GLOBS globs of at most
 * MAX_GLOB_LENGTH characters.
 */
export function checkGlobs(globs: readonly string[], flag: string): string[] {
  compileGlobs(globs, flag);
  return [...globs];
}

function matcher(globs: readonly string[], flag: string): (name: string) => boolean {
  const compiled = compileGlobs(globs, flag);
  return (name) => compiled.some((glob) => globMatches(glob, name));
}

function compileGlobs(globs: readonly string[], flag: string): Glob[] {
  const tooMany = (): ConnectrError =>
    new ConnectrError(
      'usage',
      `${flag} gives more than the at most ${MAX_GLOBS} globs allowed (each alternative of a {…} counts as one)`,
      { hint: `fewer, broader globs: e.g. ${flag} 'gmail_*' for every Gmail tool` },
    );
  if (globs.length > MAX_GLOBS) throw tooMany();
  let left = MAX_GLOBS;
  return globs.map((glob) => {
    const refuse = (why?: string): ConnectrError =>
      new ConnectrError(
        'usage',
        `${flag} "${shown(glob)}" is not a tool-name glob${why === undefined ? '' : `: it ${why}`}`,
        {
          hint: `tool names are <connector>_<endpoint>; e.g. ${flag} 'gmail_*' or ${flag} '*_delete_*'`,
        },
      );
    if (!glob.trim() || !/^[A-Za-z0-9_.*?[\]{},!-]+$/.test(glob)) throw refuse();
    let compiled: Glob;
    try {
      compiled = compileGlob(glob, left);
    } catch (error) {
      if (!(error instanceof GlobSyntaxError)) throw error;
      if (error.tooMany) throw tooMany();
      throw refuse(error.message);
    }
    left -= compiled.alternatives.length;
    return compiled;
  });
}

/** A glob as a message shows it: bounded, whatever was given. */
function shown(glob: string): string {
  return glob.length > 60 ? `${glob.slice(0, 60)}…` : glob;
}

function describe(connector: Connector, endpoint: Endpoint, extra: ExtraArguments): string {
  const parts = [`${connector.displayName}: ${endpoint.summary}`];
  if (endpoint.description) parts.push(endpoint.description);
  if (extra.cursor)
    parts.push(
      `Answers one page; when there are more, the result has next_cursor: call again with ${extra.cursor} set to it.`,
    );
  if (endpoint.deprecated) parts.push('Deprecated by the provider.');
  if (endpoint.docs_url) parts.push(`Reference: ${endpoint.docs_url}`);
  return parts.join('\n\n');
}
