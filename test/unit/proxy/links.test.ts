import { describe, expect, it } from 'vitest';
import type { LinkMap } from '../../../src/core/proxy/links.js';
import {
  hasLinks,
  rewriteLinkHeader,
  rewriteResponseLinks,
  rewriteUrl,
} from '../../../src/core/proxy/links.js';

const PROXY = 'https://connectr.example.com/api/v1/connections/conn_1/proxy';
const map: LinkMap = {
  upstreamBase: new URL('https://graph.microsoft.com/v1.0'),
  requestUrl: new URL('https://graph.microsoft.com/v1.0/me/drive/root/children?$top=2'),
  proxyBase: PROXY,
};

describe('raw proxy URL rewriting', () => {
  it('maps a URL under the proxied host and base path to the proxy, query and fragment kept', () => {
    expect(rewriteUrl('https://graph.microsoft.com/v1.0/me/drive/items/X?$skiptoken=2#f', map)).toBe(
      `${PROXY}/me/drive/items/X?$skiptoken=2#f`,
    );
    expect(rewriteUrl('https://graph.microsoft.com/v1.0', map)).toBe(`${PROXY}/`);
    expect(rewriteUrl('https://GRAPH.microsoft.com:443/v1.0/me', map)).toBe(`${PROXY}/me`);
  });

  it('leaves other hosts, schemes, ports, base paths and user-info URLs alone', () => {
    for (const url of [
      'https://graph.microsoft.com/beta/me',
      'https://graph.microsoft.com/v1.0x/me',
      'http://graph.microsoft.com/v1.0/me',
      'https://graph.microsoft.com:8443/v1.0/me',
      'https://evil.example.com/v1.0/me',
      'https://user:pw@graph.microsoft.com/v1.0/me',
      'https://graph.microsoft.com.evil.example.com/v1.0/me',
      'mailto:ann@example.com',
    ])
      expect(rewriteUrl(url, map), url).toBe(url);
  });

  it('resolves a relative reference against the upstream URL: through the proxy, or absolute upstream', () => {
    expect(rewriteUrl('?$skiptoken=4', map)).toBe(`${PROXY}/me/drive/root/children?$skiptoken=4`);
    expect(rewriteUrl('/v1.0/me', map)).toBe(`${PROXY}/me`);
    expect(rewriteUrl('../../../me', map)).toBe(`${PROXY}/me`);
    // Outside the base path, it keeps its meaning instead of resolving against the proxy.
    expect(rewriteUrl('/beta/me', map)).toBe('https://graph.microsoft.com/beta/me');
    expect(rewriteUrl('//evil.example.com/v1.0/me', map)).toBe('https://evil.example.com/v1.0/me');
  });

  it('rewrites every link of a GitHub-style Link header, keeping the parameters as they were', () => {
    const gh: LinkMap = {
      upstreamBase: new URL('https://api.github.com'),
      requestUrl: new URL('https://api.github.com/user/repos?page=1'),
      proxyBase: PROXY,
    };
    expect(
      rewriteLinkHeader(
        '<https://api.github.com/user/repos?page=2>; rel="next", <https://api.github.com/user/repos?page=5>; rel="last"',
        gh,
      ),
    ).toBe(`<${PROXY}/user/repos?page=2>; rel="next", <${PROXY}/user/repos?page=5>; rel="last"`);
  });

  it('parses RFC 8288: commas and semicolons in quoted strings and in the target, ext-values, empty elements', () => {
    const value =
      '<https://graph.microsoft.com/v1.0/a,b;c>;rel=next;title="a, <b>; c=\\"d\\"",' +
      ' <https://other.example.com/x>; rel="alternate"; title*=UTF-8\'de\'n%c3%a4chste, ,' +
      '<https://graph.microsoft.com/v1.0/z>; anchor="#x"; rel=prev';
    expect(rewriteLinkHeader(value, map)).toBe(
      `<${PROXY}/a,b;c>;rel=next;title="a, <b>; c=\\"d\\"",` +
        ' <https://other.example.com/x>; rel="alternate"; title*=UTF-8\'de\'n%c3%a4chste, ,' +
        `<${PROXY}/z>; anchor="#x"; rel=prev`,
    );
  });

  it.each([
    'https://graph.microsoft.com/v1.0/a; rel=next',
    '<https://graph.microsoft.com/v1.0/a; rel=next',
    '<https://graph.microsoft.com/v1.0/a>; rel="next',
    '<https://graph.microsoft.com/v1.0/a>; =next',
    '<https://graph.microsoft.com/v1.0/a> rel=next',
    '<https://graph.microsoft.com/v1.0/a>; rel=next <https://graph.microsoft.com/v1.0/b>',
  ])('passes the malformed Link %s unchanged', (value) => {
    expect(rewriteLinkHeader(value, map)).toBe(value);
  });

  it('rewrites Location, Content-Location and every Link line, and nothing else', () => {
    const out = rewriteResponseLinks(
      {
        location: 'https://graph.microsoft.com/v1.0/monitor/1',
        'content-location': '/v1.0/me/drive/items/2',
        link: ['<https://graph.microsoft.com/v1.0/a>; rel=next', '<https://x.example.com/b>; rel=help'],
        'x-other': 'https://graph.microsoft.com/v1.0/c',
      },
      map,
    );
    expect(out).toEqual({
      location: `${PROXY}/monitor/1`,
      'content-location': `${PROXY}/me/drive/items/2`,
      link: [`<${PROXY}/a>; rel=next`, '<https://x.example.com/b>; rel=help'],
      'x-other': 'https://graph.microsoft.com/v1.0/c',
    });
  });
});

describe('hasLinks', () => {
  it('says whether an answer has a header the proxy maps (the map is made only then)', () => {
    expect(hasLinks({ 'content-type': 'application/json', etag: '"x"' })).toBe(false);
    expect(hasLinks({ link: '</a>; rel="next"' })).toBe(true);
    expect(hasLinks({ location: '/a' })).toBe(true);
    expect(hasLinks({ 'content-location': '/a' })).toBe(true);
  });
});
