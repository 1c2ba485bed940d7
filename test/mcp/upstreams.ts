import type { ServerResponse } from 'node:http';
import { parseConnector } from '../../src/core/connector/load.js';
import type { Connector } from '../../src/core/connector/model.js';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';
import { bearerOf, sendJson, sendText, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator, RecordedRequest } from '../fixtures/emulators/server.js';
import { startSlackEmulator } from '../fixtures/emulators/slack.js';
import type { SlackEmulator } from '../fixtures/emulators/slack.js';

/**
 * The upstream APIs of the MCP tests, all on 127.0.0.1 and all taking one bearer token: the
 * Gmail, Dropbox, OneDrive (Graph) and Slack emulators, and `fixture`, a small API of a test
 * connector for what no built-in endpoint answers (plain text, a JSON array, an answer that
 * never comes).
 */
export interface Upstreams {
  readonly gmail: GmailEmulator;
  readonly dropbox: DropboxEmulator;
  readonly graph: GraphEmulator;
  readonly slack: SlackEmulator;
  readonly fixture: Emulator;
  /** The fixture API's connector. */
  readonly fixtureConnector: Connector;
  /** Base-URL overrides pointing every connector at its emulator. */
  readonly env: Record<string, string>;
  /** Every request any of them received so far. */
  sent(): number;
  /** Requests to /stall whose connection has since closed (the caller gave up). */
  readonly stallsClosed: RecordedRequest[];
  /** Requests to /stall that arrived. */
  readonly stalls: RecordedRequest[];
  /** How long /note takes to answer from now on (0 at first). */
  delayNotes(ms: number): void;
  close(): Promise<void>;
}

/** The definition of the fixture API's connector, at `url`. */
export const fixtureYaml = (url: string): string => `
name: fixture
display_name: Fixture
version: 1
docs_url: https://example.com/docs
description: Answers the MCP tests need and no built-in endpoint gives.
hosts:
  api: ${url}
auth:
  type: api_key
  in: header
  name: Authorization
  prefix: "Bearer "
endpoints:
  note:
    summary: A plain-text note.
    method: GET
    path: /note
  numbers:
    summary: A JSON array.
    method: GET
    path: /numbers
  stall:
    summary: An answer that never comes.
    method: GET
    path: /stall
`;

/** `token` opens every API; `otherGmailTokens` open the Gmail mailbox too. */
export async function startUpstreams(
  token: string,
  otherGmailTokens: readonly string[] = [],
): Promise<Upstreams> {
  const gmail = await startGmailEmulator({ acceptToken: (t) => t === token || otherGmailTokens.includes(t) });
  const dropbox = await startDropboxEmulator({ token });
  const graph = await startGraphEmulator({ token });
  const slack = await startSlackEmulator({ token });
  const stalls: RecordedRequest[] = [];
  const stallsClosed: RecordedRequest[] = [];
  let noteDelayMs = 0;
  const fixture = await startEmulator((req, res: ServerResponse) => {
    if (bearerOf(req) !== token) return sendJson(res, 401, { message: 'bad token' });
    if (req.url.pathname === '/note') {
      const answer = (): void => sendText(res, 200, 'a note in plain words\n');
      if (noteDelayMs > 0) setTimeout(answer, noteDelayMs);
      else answer();
      return;
    }
    if (req.url.pathname === '/numbers') return sendJson(res, 200, [1, 2, 3]);
    if (req.url.pathname === '/stall') {
      stalls.push(req);
      // Never answered: the test ends it by cancelling, or close() does.
      res.on('close', () => stallsClosed.push(req));
      return;
    }
    sendJson(res, 404, { message: 'no such path' });
  });
  const parsed = parseConnector(fixtureYaml(fixture.url), { file: 'fixture.yaml', origin: 'extra' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const env = {
    CONNECTR_GMAIL_API_BASE_URL: gmail.url,
    CONNECTR_DROPBOX_API_BASE_URL: dropbox.api.url,
    CONNECTR_DROPBOX_CONTENT_BASE_URL: dropbox.content.url,
    CONNECTR_ONEDRIVE_GRAPH_BASE_URL: graph.baseUrl,
    CONNECTR_ONEDRIVE_REDIRECT_HOSTS: `${graph.downloads.url},${graph.uploads.url}`,
    CONNECTR_SLACK_API_BASE_URL: `${slack.url}/api`,
    CONNECTR_SLACK_REDIRECT_HOSTS: slack.uploads.url,
  };
  const all = (): Emulator[] => [
    gmail,
    dropbox.api,
    dropbox.content,
    graph.graph,
    graph.uploads,
    graph.downloads,
    slack,
    slack.uploads,
    fixture,
  ];
  return {
    gmail,
    dropbox,
    graph,
    slack,
    fixture,
    fixtureConnector: parsed.connector,
    env,
    sent: () => all().reduce((n, e) => n + e.requests.length, 0),
    stalls,
    stallsClosed,
    delayNotes(ms) {
      noteDelayMs = ms;
    },
    async close() {
      await Promise.all([gmail.close(), dropbox.close(), graph.close(), slack.close(), fixture.close()]);
    },
  };
}
