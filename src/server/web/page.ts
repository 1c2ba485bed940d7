import type { FastifyReply } from 'fastify';
import type { Html, HtmlValue } from './html.js';
import { html } from './html.js';

/**
 * The shell every page of the daemon shares (the Connect page, the console) and the headers
 * that make it safe to serve: nothing loads from elsewhere, no inline script runs, forms post
 * back to the daemon only, and the page is framed only where its caller allows.
 */

export interface PageOptions {
  readonly title: string;
  readonly body: HtmlValue;
  /** Scripts of /assets (file names), loaded deferred; none by default. */
  readonly scripts?: readonly string[];
  /** Extra class on <body> (e.g. the console's layout). */
  readonly bodyClass?: string;
}

export function page(options: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${options.title}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/connectr.css">
${(options.scripts ?? []).map((file) => html`<script src="/assets/${file}" defer></script> `)}</head>
<body${options.bodyClass === undefined ? '' : html` class="${options.bodyClass}"`}>
${options.body}
</body>
</html>
`;
}

export interface SecurityOptions {
  /**
   * Origins that may frame the page (exact `https://app.example.com`); none by default, which
   * forbids framing altogether (X-Frame-Options DENY as well, for older browsers).
   */
  readonly frameAncestors?: readonly string[];
  /** Origins forms may post to besides the daemon itself (none by default). */
  readonly formActions?: readonly string[];
}

export function contentSecurityPolicy(options: SecurityOptions = {}): string {
  const ancestors = options.frameAncestors?.length ? options.frameAncestors.join(' ') : "'none'";
  const forms = ["'self'", ...(options.formActions ?? [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action ${forms}`,
    "base-uri 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
}

/** Sends a page with the headers above; never cached (pages show secrets once and per-user data). */
export function sendPage(
  reply: FastifyReply,
  status: number,
  markup: Html,
  options: SecurityOptions = {},
): FastifyReply {
  void reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', contentSecurityPolicy(options));
  if (!options.frameAncestors?.length) void reply.header('x-frame-options', 'DENY');
  return reply.send(markup.markup);
}
