import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { toolsOf } from '../../../src/mcp/tools.js';
import type { Tool } from '../../../src/mcp/tools.js';

/** The tool catalogue made from the built-in definitions: names, schemas, annotations, filters. */
async function tools(names: string[], filter = {}, connectionArgument = false): Promise<Map<string, Tool>> {
  const registry = await loadRegistry();
  const list = toolsOf(
    names.map((n) => registry.require(n)),
    filter,
    { connectionArgument },
  );
  return new Map(list.map((t) => [t.name, t]));
}

function tool(all: Map<string, Tool>, name: string): Tool {
  const found = all.get(name);
  if (!found) throw new Error(`no tool ${name}`);
  return found;
}

describe('MCP tools from connector definitions', () => {
  it('types each argument from its param: enum, default, range, array items, required', async () => {
    const gmail = await tools(['gmail']);
    const list = tool(gmail, 'gmail_list_messages').inputSchema as {
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
    };
    expect(list.properties.maxResults).toMatchObject({ type: 'integer', minimum: 1, maximum: 500 });
    expect(list.properties.labelIds).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(list.properties.cursor).toMatchObject({ type: 'string' });
    expect(tool(gmail, 'gmail_get_message').inputSchema).toMatchObject({
      required: ['id'],
      additionalProperties: false,
      properties: { format: { enum: ['minimal', 'full', 'raw', 'metadata'] } },
    });
  });

  it("renames the page cursor when the endpoint has a param called cursor (Slack's own)", async () => {
    const slack = await tools(['slack']);
    const history = tool(slack, 'slack_list_messages');
    expect(history.extra.cursor).toBe('_cursor');
    expect(Object.keys(history.inputSchema.properties as object)).toEqual(
      expect.arrayContaining(['cursor', '_cursor', 'channel']),
    );
    expect(tool(slack, 'slack_post_message').inputSchema).toMatchObject({
      properties: { blocks: { type: 'array', items: { type: 'object' } } },
    });
  });

  it('takes a file as text or base64, never as a path', async () => {
    const upload = tool(await tools(['dropbox']), 'dropbox_upload');
    const raw = upload.endpoint.params.find((p) => p.in === 'raw')?.key ?? '';
    expect(upload.inputSchema).toMatchObject({
      properties: {
        [raw]: { type: 'string' },
        [`${raw}_base64`]: { type: 'string', contentEncoding: 'base64' },
      },
    });
  });

  it('annotates by method: reads, destructive deletes, non-destructive writes', async () => {
    const gcal = await tools(['gcal']);
    expect(tool(gcal, 'gcal_list_events').annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    expect(tool(gcal, 'gcal_delete_event').annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(tool(gcal, 'gcal_insert_event').annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
    });
  });

  it('filters: read-only keeps GET and HEAD; allow, then deny, by glob', async () => {
    const readOnly = await tools(['gmail', 'gcal'], { readOnly: true });
    expect([...readOnly.values()].every((t) => ['GET', 'HEAD'].includes(t.endpoint.method))).toBe(true);
    expect(readOnly.has('gmail_send_message')).toBe(false);
    const some = await tools(['gmail', 'gcal'], { allow: ['gcal_*'], deny: ['*_delete_*'] });
    expect([...some.keys()].every((n) => n.startsWith('gcal_'))).toBe(true);
    expect(some.has('gcal_delete_event')).toBe(false);
    expect(some.has('gcal_list_events')).toBe(true);
  });

  it('adds a required connection_id argument when the daemon has no connection for the session', async () => {
    const gmail = await tools(['gmail'], {}, true);
    expect(tool(gmail, 'gmail_get_profile').inputSchema).toMatchObject({
      required: ['connection_id'],
      properties: { connection_id: { type: 'string' } },
    });
  });
});
