import { describe, expect, it } from 'vitest';
import { findEndpoint } from '../../../src/core/connector/model.js';
import type { Connector, Endpoint } from '../../../src/core/connector/model.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { BUILTIN_CONNECTORS } from '../../helpers/builtin.js';

const registry = await loadRegistry();

function endpoint(connector: string, name: string): Endpoint {
  const found = findEndpoint(registry.require(connector), name);
  if (!found) throw new Error(`no endpoint ${connector}.${name}`);
  return found;
}

function param(ep: Endpoint, key: string) {
  const found = ep.params.find((p) => p.key === key);
  if (!found) throw new Error(`no param ${key} in ${ep.name}`);
  return found;
}

describe('built-in connectors', () => {
  it('all load without problems', () => {
    expect(registry.invalid).toEqual([]);
    expect(registry.connectors.map((c) => c.name)).toEqual(BUILTIN_CONNECTORS);
  });

  it.each(BUILTIN_CONNECTORS)('%s: every endpoint has a summary, docs link and scopes', (name) => {
    const c: Connector = registry.require(name);
    for (const ep of c.endpoints) {
      expect(ep.summary, ep.name).not.toBe('');
      expect(ep.docs_url, ep.name).toMatch(/^https:\/\//);
      // GitHub's reads of public data and Slack's auth.test need no scope; every other call
      // names the one it needs.
      const free =
        (name === 'github' && ep.method === 'GET') || (name === 'slack' && ep.name === 'auth_test');
      if (!free) expect(ep.scopes?.length, ep.name).toBeGreaterThan(0);
    }
  });

  it.each(BUILTIN_CONNECTORS)('%s: names a health check that needs no params', (name) => {
    const c: Connector = registry.require(name);
    expect(c.health?.endpoint, 'health.endpoint').toBeDefined();
    const endpoint = c.endpoints.find((ep) => ep.name === c.health?.endpoint);
    expect(endpoint?.method === 'GET' || endpoint?.idempotent).toBe(true);
  });

  describe('gmail', () => {
    const gmail = registry.require('gmail');
    it('offers the endpoints users ask for first', () => {
      const names = gmail.endpoints.map((e) => e.name);
      for (const needed of [
        'list_messages',
        'get_message',
        'send_message',
        'trash_message',
        'delete_message',
        'modify_message',
        'list_labels',
        'list_threads',
      ]) {
        expect(names).toContain(needed);
      }
    });
    it('asks Google for offline access with PKCE', () => {
      expect(gmail.auth.type).toBe('oauth2');
      if (gmail.auth.type !== 'oauth2') return;
      expect(gmail.auth.authorization_params).toMatchObject({ access_type: 'offline' });
      expect(gmail.auth.pkce).toBe(true);
      expect(gmail.auth.client_id_env).toBe('GMAIL_CLIENT_ID');
    });
    it('lists messages with page tokens and repeated labelIds', () => {
      const ep = endpoint('gmail', 'list_messages');
      expect(ep.method).toBe('GET');
      expect(ep.path).toBe('/gmail/v1/users/{userId}/messages');
      expect(ep.pagination).toMatchObject({ style: 'page_token', request_param: 'pageToken' });
      expect(param(ep, 'labelIds')).toMatchObject({ in: 'query', type: 'array', flag: 'label-ids' });
    });
    it('permanent delete needs the full mail scope', () => {
      expect(endpoint('gmail', 'delete_message').scopes).toEqual(['https://mail.google.com/']);
    });
  });

  describe('dropbox', () => {
    const dropbox = registry.require('dropbox');
    it('has the RPC and content hosts, each overridable', () => {
      expect(dropbox.hosts.map((h) => [h.key, h.env])).toEqual([
        ['api', 'CONNECTR_DROPBOX_API_BASE_URL'],
        ['content', 'CONNECTR_DROPBOX_CONTENT_BASE_URL'],
      ]);
    });
    it('uploads and downloads on the content host with Dropbox-API-Arg', () => {
      for (const name of ['upload', 'download']) {
        const ep = endpoint('dropbox', name);
        expect(ep.host).toBe('content');
        expect(ep.request?.json_header).toBe('Dropbox-API-Arg');
        expect(param(ep, 'path').in).toBe('json_header');
      }
      expect(endpoint('dropbox', 'download').response).toMatchObject({
        encoding: 'binary',
        result_header: 'Dropbox-API-Result',
      });
      expect(endpoint('dropbox', 'upload').upload_session).toMatchObject({ protocol: 'dropbox' });
    });
    it('continues listings and searches with cursors', () => {
      expect(endpoint('dropbox', 'list_folder').pagination).toMatchObject({
        style: 'cursor',
        continue_endpoint: 'list_folder_continue',
      });
      expect(endpoint('dropbox', 'search').pagination).toMatchObject({
        style: 'cursor',
        continue_endpoint: 'search_continue',
      });
    });
    it('lets users type / for the root folder, which Dropbox calls ""', () => {
      expect(param(endpoint('dropbox', 'list_folder'), 'path').aliases).toEqual({ '/': '' });
    });
    it('renames the page-size param so it does not clash with --limit', () => {
      expect(param(endpoint('dropbox', 'list_folder'), 'limit').flag).toBe('page-size');
    });
    it('asks for offline tokens on a fixed registered redirect port', () => {
      if (dropbox.auth.type !== 'oauth2') throw new Error('oauth2 expected');
      expect(dropbox.auth.authorization_params).toMatchObject({ token_access_type: 'offline' });
      expect(dropbox.auth.redirect?.port).toBeTypeOf('number');
      expect(dropbox.auth.revocation_style).toBe('bearer');
    });
  });

  describe('slack', () => {
    const slack = registry.require('slack');
    it('asks for bot scopes, comma-separated, with the secret and without PKCE, on a fixed localhost port', () => {
      if (slack.auth.type !== 'oauth2') throw new Error('oauth2 expected');
      expect(slack.auth.scope_separator).toBe(',');
      expect(slack.auth.pkce).toBe(false);
      expect(slack.auth.client_secret).toBe('required');
      expect(slack.auth.redirect).toMatchObject({ host: 'localhost', port: 53683, path: '/callback' });
      expect(slack.auth.revocation_style).toBe('bearer');
    });
    it('follows response_metadata.next_cursor, which Slack ends with ""', () => {
      for (const name of ['list_conversations', 'list_messages']) {
        expect(endpoint('slack', name).pagination).toMatchObject({
          style: 'page_token',
          request_param: 'cursor',
          response_path: 'response_metadata.next_cursor',
        });
        expect(param(endpoint('slack', name), 'limit').flag).toBe('page-size');
      }
    });
    it('uploads every file through files upload v2', () => {
      expect(endpoint('slack', 'upload_file').upload_session).toMatchObject({
        protocol: 'slack',
        threshold: 0,
        start: 'get_upload_url',
        finish: 'complete_upload',
      });
    });
  });

  describe('onedrive', () => {
    const onedrive = registry.require('onedrive');
    it('requests offline_access from the Microsoft identity platform', () => {
      if (onedrive.auth.type !== 'oauth2') throw new Error('oauth2 expected');
      expect(onedrive.auth.scopes).toContain('offline_access');
      expect(onedrive.auth.grants).toContain('device_code');
      expect(onedrive.auth.redirect?.host).toBe('localhost');
    });
    it('lists children at the root, by id and by path, following @odata.nextLink', () => {
      for (const name of ['list_root_children', 'list_children', 'list_children_by_path']) {
        expect(endpoint('onedrive', name).pagination).toMatchObject({
          style: 'next_link',
          next_path: ['@odata.nextLink'],
        });
      }
      expect(param(endpoint('onedrive', 'list_children_by_path'), 'path').style).toBe('path');
    });
    it('escapes search text as an OData string', () => {
      expect(param(endpoint('onedrive', 'search'), 'q').style).toBe('odata_string');
    });
    it('uploads in 320 KiB multiples through upload sessions', () => {
      const session = endpoint('onedrive', 'upload').upload_session;
      expect(session?.protocol).toBe('graph');
      expect((session?.chunk_size ?? 1) % 327680).toBe(0);
    });
  });
});
