import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { emulatorEnv } from '../helpers/emulator-env.js';
import { tempHome } from '../helpers/home.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';

/** A path value cannot climb out of the endpoint's path (issue #7, point 9), end to end. */
describe('path values through the binary', () => {
  const home = tempHome();
  let graph: GraphEmulator;
  let env: Record<string, string>;
  beforeAll(async () => {
    graph = await startGraphEmulator();
    env = { ...home.env, ...emulatorEnv({ graph }) };
  });
  afterAll(async () => {
    await graph.close();
    home.cleanup();
  });

  it.each([
    ['get_item_by_path', '--path', '../../../users/victim@example.com/drive/root'],
    ['download_by_path', '--path', 'Documents/%2e%2e/%2e%2e/x'],
    ['list_children_by_path', '--path', '..\\..\\x'],
    ['get_item', '--item-id', '..'],
    ['delete', '--item-id', '.'],
  ])('%s %s %j is refused with exit 1 and never sent', async (endpoint, flag, value) => {
    const before = graph.graph.requests.length;
    const r = await runBin(['call', 'onedrive', endpoint, flag, value], env);
    expect(r.stderr).toContain(`error: ${flag} `);
    expect(r.stderr).toContain('"." or ".." segment');
    expect(r.code).toBe(1);
    expect(graph.graph.requests.length).toBe(before);
  });

  it('still sends an ordinary path', async () => {
    const docs = graph.addFolder('01ROOTID', 'v1..v2');
    graph.addFile(docs.id, 'a..b.txt', Buffer.from('x'));
    const r = await runBin(['call', 'onedrive', 'list_children_by_path', '--path', '/v1..v2/'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"name":"a..b.txt"');
  });
});
