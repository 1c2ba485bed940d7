import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';

/** The path the provider sends the browser back to. */
export const CALLBACK_PATH = '/api/v1/oauth/callback';

/** An absolute http(s) URL with nothing a header or a page could be tricked with. */
export function httpUrl(what: string): z.ZodString {
  return z
    .string()
    .max(2048, { message: `${what} has at most 2048 characters` })
    .refine((value) => !hasControlOrSpace(value), {
      message: `${what} must not contain spaces, CR/LF or other control characters`,
    })
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return (
            (url.protocol === 'http:' || url.protocol === 'https:') &&
            url.username === '' &&
            url.password === ''
          );
        } catch {
          return false;
        }
      },
      { message: `${what} must be an absolute http:// or https:// URL without a user name` },
    );
}

function hasControlOrSpace(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || (c >= 0x80 && /\s/.test(value.charAt(i)))) return true;
  }
  return false;
}

/** Where the server can be reached from a browser, as configured. */
export interface PublicAddress {
  /** `connectr serve --public-url`, e.g. https://connectr.example.com. */
  readonly publicUrl?: string | undefined;
  /** Fastify's trustProxy is on: X-Forwarded-Host/-Proto of a trusted proxy may be used. */
  readonly trustProxy: boolean;
}

/** `--public-url` checked: http(s), no query or fragment; returned without a trailing slash. */
export function parsePublicUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search ||
    url.hash ||
    url.username
  ) {
    throw new ConnectrError('usage', `--public-url must be the server's http(s) address, not "${value}"`, {
      hint: 'e.g. --public-url https://connectr.example.com (no query, no fragment)',
    });
  }
  return url.toString().replace(/\/+$/, '');
}

/**
 * This server's own GET /oauth/callback: under --public-url when given; else, behind a trusted
 * proxy, the forwarded host and protocol; else the address the server listens on (0.0.0.0 is
 * reached as 127.0.0.1). A Host header alone is never trusted: anyone can send one.
 */
export function defaultRedirectUri(request: FastifyRequest, address: PublicAddress): string {
  const base = serverBaseUrl(request, address);
  if (base === undefined) {
    throw new ConnectrError(
      'invalid_input',
      "this server does not know its own address for the provider's redirect",
      {
        hint: 'send redirect_uri, or start the server with --public-url https://your-host',
      },
    );
  }
  return `${base}${CALLBACK_PATH}`;
}

/**
 * Where clients reach this server, without a trailing slash, by the rule above (the raw proxy
 * maps upstream links onto it too); undefined when it listens on no TCP address.
 */
export function serverBaseUrl(request: FastifyRequest, address: PublicAddress): string | undefined {
  if (address.publicUrl) return address.publicUrl;
  if (address.trustProxy) return `${request.protocol}://${request.host}`;
  const listening = request.server.server.address();
  if (listening === null || typeof listening === 'string') return undefined;
  return `http://${hostOf(listening)}:${listening.port}`;
}

function hostOf(address: AddressInfo): string {
  if (address.address === '0.0.0.0') return '127.0.0.1';
  if (address.address === '::') return '[::1]';
  return address.family === 'IPv6' || address.address.includes(':')
    ? `[${address.address}]`
    : address.address;
}
