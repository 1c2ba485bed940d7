import * as z from 'zod';
import { isLoopbackHostname } from '../../core/http/plain-http.js';
import { NO_CONTROL } from '../input.js';

/**
 * Where a webhook may be sent: `https`, or plain `http` only to this machine (development),
 * with no user name or password in it (they would be sent, and shown by GET /webhooks) and no
 * fragment; bounded, so that a URL is a URL and not a payload.
 */

export const MAX_URL_LENGTH = 2048;

/** Why `text` is not a webhook URL, or undefined when it is one. */
export function webhookUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'url is not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `url must be https:// (found ${url.protocol}//)`;
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname))
    return 'url must be https://; plain http:// is allowed only to a loopback address (127.0.0.1, ::1, localhost)';
  if (url.username !== '' || url.password !== '') return 'url must not carry a user name or password';
  if (url.hash !== '') return 'url must not have a #fragment';
  return undefined;
}

export const WebhookUrl = z
  .string()
  .max(MAX_URL_LENGTH, { message: `url has at most ${MAX_URL_LENGTH} characters` })
  .regex(NO_CONTROL, { message: 'url must not contain control characters' })
  .superRefine((value, ctx) => {
    const problem = webhookUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('Where deliveries are POSTed: https://, or http:// to a loopback address.');
