/**
 * Plain `http://` is only acceptable to this machine: a credential or refresh token sent over
 * it to anywhere else can be read on the way. Loopback is 127.0.0.0/8, ::1 and localhost
 * (local emulators, test servers, a local proxy).
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Why `url` may not carry credentials (plain http to a host that is not loopback), else undefined. */
export function plainHttpProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' || isLoopbackHostname(parsed.hostname)) return undefined;
  return `plain http:// to ${parsed.host} would send credentials unencrypted; use https:// (http:// is only allowed to loopback: 127.0.0.1, ::1, localhost)`;
}
