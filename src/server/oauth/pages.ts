import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../../core/escape-html.js';

/**
 * The plain pages a browser sees at the end of a sign-in. Text is HTML-escaped (a provider's
 * error description is someone else's text), nothing is loaded or run (CSP default-src 'none'),
 * the page is never cached and its address (which held the code) is not sent on as a referrer.
 */

function page(title: string, lines: readonly string[]): string {
  const body = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
}

export function sendErrorPage(reply: FastifyReply, status: number, lines: readonly string[]): FastifyReply {
  return secure(reply)
    .code(status)
    .send(page('Sign-in failed', [...lines, 'You can close this window and start the sign-in again.']));
}

export function sendSuccessPage(reply: FastifyReply, what: string): FastifyReply {
  return secure(reply)
    .code(200)
    .send(page('Signed in', [`${what} is connected.`, 'You can close this window.']));
}

/** A redirect to the app's return URL, with the same care (no referrer carrying the code). */
export function sendRedirect(reply: FastifyReply, url: string): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .redirect(url, 302);
}
