import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';

/** The configuration snippets of docs/mcp.md start what the flags say, with flags that exist. */

const markdown = readFileSync(join(import.meta.dirname, '../../docs/mcp.md'), 'utf8');
const configuration = markdown.slice(markdown.indexOf('\n## Configuration\n'));
const jsonBlocks = [...configuration.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

interface ServerConfig {
  readonly command?: string;
  readonly args?: string[];
  readonly url?: string;
}

function serversOf(block: string): ServerConfig[] {
  const parsed = JSON.parse(block) as {
    mcpServers?: Record<string, ServerConfig>;
    servers?: Record<string, ServerConfig>;
  };
  return Object.values(parsed.mcpServers ?? parsed.servers ?? {});
}

/** Every `connectr mcp ...` command line of the shell examples. */
const commandLines = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => (m[1] ?? '').split('\n'))
  .map((line) => line.replace(/#.*$/, '').trim())
  .filter((line) => line.startsWith('connectr mcp'))
  .map((line) => [...line.matchAll(/'([^']*)'|(\S+)/g)].map((w) => w[1] ?? w[2] ?? '').slice(1));

describe('docs/mcp.md', () => {
  const home = tempHome();
  afterAll(() => {
    home.cleanup();
  });

  it('has a snippet for each agent, every one valid JSON', () => {
    expect(jsonBlocks.length).toBe(3);
    for (const block of jsonBlocks) expect(serversOf(block).length).toBeGreaterThan(0);
  });

  it('starts `connectr mcp` with flags it takes, in every snippet and example', async () => {
    const argLists = [
      ...jsonBlocks
        .flatMap(serversOf)
        .filter((s) => s.command === 'connectr')
        .map((s) => s.args ?? []),
      ...commandLines,
    ];
    expect(argLists.length).toBeGreaterThanOrEqual(6);
    for (const args of argLists) {
      expect(args[0]).toBe('mcp');
      const r = await runCli([...args, '--help'], home.env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('points HTTP snippets at POST /mcp with query parameters the daemon takes', () => {
    const urls = jsonBlocks.flatMap(serversOf).flatMap((s) => (s.url ? [new URL(s.url)] : []));
    expect(urls.length).toBe(2);
    for (const url of urls) {
      expect(url.pathname).toBe('/mcp');
      for (const key of url.searchParams.keys())
        expect(['connection_id', 'read_only', 'allow', 'deny']).toContain(key);
    }
  });
});
