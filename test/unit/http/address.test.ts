import { describe, expect, it } from 'vitest';
import { ipLiteral, isLocalhostName, isPublicAddress } from '../../../src/core/http/address.js';

/**
 * The classifier that keeps redirects and page links off internal addresses: every form an
 * attacker can write a loopback, private or link-local address in, beside public ones.
 */
describe('isPublicAddress', () => {
  const internal = [
    // IPv4: loopback, private, link-local, CGNAT, unspecified, multicast, reserved
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '192.168.255.255',
    '169.254.169.254',
    '169.254.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    // IPv6: unspecified, loopback, unique local, link-local, site-local, multicast, documentation
    '::',
    '::1',
    '0:0:0:0:0:0:0:1',
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf:ffff::1',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
    '100::1',
    // IPv4 inside IPv6: mapped, translated, compatible, NAT64, 6to4
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:0001',
    '::ffff:10.1.2.3',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::ffff:0:127.0.0.1',
    '::127.0.0.1',
    '::0.0.0.0',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    '2002:c0a8:101::1',
  ];
  const external = [
    '1.1.1.1',
    '8.8.8.8',
    '93.184.216.34',
    '172.15.255.255',
    '172.32.0.1',
    '192.169.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4007:80e::200e',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
    'fbff::1',
    'fe00::1',
  ];
  it.each(internal)('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
  it.each(external)('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
  it('a name or garbage is never public', () => {
    for (const value of ['localhost', 'example.com', '', '1.2.3', '::ffff:1.2.3.4.5', '1::2::3'])
      expect(isPublicAddress(value), value).toBe(false);
  });
});

describe('ipLiteral and isLocalhostName', () => {
  it('tells literals from names, as URL.hostname gives them', () => {
    expect(ipLiteral(new URL('http://[::ffff:127.0.0.1]/').hostname)).toBe('::ffff:7f00:1');
    expect(ipLiteral(new URL('http://0x7f.1/').hostname)).toBe('127.0.0.1');
    expect(ipLiteral(new URL('http://2130706433/').hostname)).toBe('127.0.0.1');
    expect(ipLiteral(new URL('http://[::]/').hostname)).toBe('::');
    expect(ipLiteral('api.example.com')).toBeUndefined();
  });
  it('localhost and its subdomains are this machine', () => {
    for (const name of ['localhost', 'LOCALHOST', 'localhost.', 'a.b.localhost'])
      expect(isLocalhostName(name)).toBe(true);
    for (const name of ['localhost.example.com', 'notlocalhost', 'example.com'])
      expect(isLocalhostName(name)).toBe(false);
  });
});
