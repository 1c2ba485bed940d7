import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Whether an IP address is one the public internet can reach, or one that names this machine,
 * its network or nothing at all (loopback, private, link-local, carrier-grade NAT, unspecified,
 * multicast, reserved, documentation). What connectr follows on an API's word (a redirect, a
 * next-page link) may only land on a public address, unless the connector itself is local
 * (engine/follow.ts). IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address,
 * since that is where the packets go.
 */

const NOT_PUBLIC_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local machine on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255
];

const NOT_PUBLIC_V6: readonly (readonly [string, number])[] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed inside some networks)
  ['ff00::', 8], // multicast
];

// Built on first use: every command loads this module, few check an address (a redirect, a
// page link, an upload URL), and building them loads node:net at start-up.
let lists: { readonly v4: BlockList; readonly v6: BlockList } | undefined;
function notPublic(): { readonly v4: BlockList; readonly v6: BlockList } {
  if (lists) return lists;
  const v4 = new BlockList();
  for (const [net, prefix] of NOT_PUBLIC_V4) v4.addSubnet(net, prefix, 'ipv4');
  const v6 = new BlockList();
  for (const [net, prefix] of NOT_PUBLIC_V6) v6.addSubnet(net, prefix, 'ipv6');
  return (lists = { v4, v6 });
}

/** An IP address without brackets (as URL.hostname gives it, brackets removed), or undefined if `host` is a name. */
export function ipLiteral(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) === 0 ? undefined : bare;
}

/** Whether `address` (IPv4 or IPv6, no brackets) is a public unicast address. Not an address: false. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !notPublic().v4.check(address, 'ipv4');
  if (family !== 6) return false;
  const groups = ipv6Groups(address);
  if (!groups) return false;
  const embedded = embeddedIpv4(groups);
  if (embedded !== undefined) return isPublicAddress(embedded);
  return !notPublic().v6.check(address, 'ipv6');
}

/** Whether a URL's host is a name for this machine by definition (RFC 6761: localhost and below). */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part counts as two). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...left, ...Array<number>(missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address an IPv6 address carries to its destination, if it is one of the forms that do. */
function embeddedIpv4(g: readonly number[]): string | undefined {
  const quad = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (translated)
  if (zeros(0, 5) && g[5] === 0xffff) return quad(g[6] ?? 0, g[7] ?? 0);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return quad(g[6] ?? 0, g[7] ?? 0);
  // ::a.b.c.d (compatible, deprecated), but not :: and ::1 themselves
  if (zeros(0, 6) && (g[6] ?? 0) !== 0) return quad(g[6] ?? 0, g[7] ?? 0);
  // 64:ff9b::a.b.c.d (NAT64)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return quad(g[6] ?? 0, g[7] ?? 0);
  // 2002:aabb:ccdd::/48 (6to4)
  if (g[0] === 0x2002) return quad(g[1] ?? 0, g[2] ?? 0);
  return undefined;
}

/** A name resolved to an address that is not public, where only public ones may be reached. */
export class NonPublicAddress extends Error {
  readonly code = 'CONNECTR_NON_PUBLIC_ADDRESS';
  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(`${hostname} resolves to ${address}, which is not a public address`);
    this.name = 'NonPublicAddress';
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * dns.lookup for a connection that may only reach public addresses (node:net's and undici's
 * `lookup` option): the name is resolved once, and refused when any of its addresses is not
 * public, so the address checked is the address connected to.
 */
export function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, []);
      return;
    }
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad || addresses.length === 0) {
      callback(new NonPublicAddress(hostname, bad?.address ?? 'nothing'), []);
      return;
    }
    if (options.all === true) callback(null, addresses);
    else callback(null, addresses[0]?.address ?? '', addresses[0]?.family);
  });
}
