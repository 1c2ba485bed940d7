import { describe, expect, it } from 'vitest';
import { html, trusted } from '../../../../src/server/web/html.js';
import { contentSecurityPolicy, page } from '../../../../src/server/web/page.js';

describe('web pages: templates', () => {
  it('escapes every value unless it is markup the daemon wrote', () => {
    const name = `<script>alert("x")</script>&'`;
    // prettier-ignore
    const out = html`<p title="${name}">${name}</p>${trusted('<hr>')}${[html`<b>${name}</b>`, 'a<b']}`;
    expect(out.markup).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>' +
        '<hr><b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</b>a&lt;b',
    );
  });

  it('renders nothing for null, undefined and booleans, so conditions read plainly', () => {
    expect(html`[${null}${undefined}${false}${true}${0}]`.markup).toBe('[0]');
  });

  it('a page escapes its title and names its style sheet and scripts from /assets', () => {
    const out = page({ title: '<x>', body: html`<main></main>`, scripts: ['a.js'] }).markup;
    expect(out).toContain('<title>&lt;x&gt;</title>');
    expect(out).toContain('<link rel="stylesheet" href="/assets/connectr.css">');
    expect(out).toContain('<script src="/assets/a.js" defer></script>');
    expect(out).not.toMatch(/<script>/);
  });

  it('the policy allows no inline script and framing only by the origins given', () => {
    const strict = contentSecurityPolicy();
    expect(strict).toContain("script-src 'self'");
    expect(strict).not.toContain('unsafe-inline');
    expect(strict).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy({ frameAncestors: ['https://app.example.com'] })).toContain(
      'frame-ancestors https://app.example.com',
    );
  });
});
