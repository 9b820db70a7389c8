import { checkTargetUrl, isForbiddenAddress } from '../../shared/net/address-policy';

describe('isForbiddenAddress', () => {
  // First, last and a middle address of every range, plus the ones attackers reach for.
  it.each([
    ['0.0.0.0/8', ['0.0.0.0', '0.255.255.255']],
    ['10/8', ['10.0.0.0', '10.1.2.3', '10.255.255.255']],
    ['100.64/10 (CGNAT)', ['100.64.0.0', '100.100.100.100', '100.127.255.255']],
    ['127/8', ['127.0.0.1', '127.255.255.254']],
    ['169.254/16 (link-local, metadata)', ['169.254.0.1', '169.254.169.254', '169.254.255.255']],
    ['172.16/12', ['172.16.0.0', '172.20.1.1', '172.31.255.255']],
    ['192.0.0/24', ['192.0.0.0', '192.0.0.255']],
    ['192.0.2/24', ['192.0.2.1']],
    ['192.168/16', ['192.168.0.1', '192.168.255.255']],
    ['198.18/15', ['198.18.0.0', '198.19.255.255']],
    ['198.51.100/24', ['198.51.100.7']],
    ['203.0.113/24', ['203.0.113.9']],
    ['224/4 multicast', ['224.0.0.1', '239.255.255.255']],
    ['240/4 and broadcast', ['240.0.0.1', '255.255.255.255']],
  ])('refuses IPv4 %s', (_, addresses) => {
    for (const ip of addresses) expect([ip, isForbiddenAddress(ip)]).toEqual([ip, true]);
  });

  it.each([
    ['unspecified', ['::', '0:0:0:0:0:0:0:0']],
    ['loopback', ['::1', '0:0:0:0:0:0:0:1', '[::1]']],
    ['unique local fc00::/7, incl. metadata', ['fc00::1', 'fd00:ec2::254', 'FD12:3456::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
    ['link-local fe80::/10', ['fe80::1', 'fe80::1%eth0', 'febf:ffff::1']],
    ['multicast ff00::/8', ['ff02::1', 'ff0e::101']],
    ['documentation 2001:db8::/32', ['2001:db8::1', '2001:db8:ffff::1']],
    ['discard 100::/64', ['100::', '100::ffff:ffff:ffff:ffff']],
  ])('refuses IPv6 %s', (_, addresses) => {
    for (const ip of addresses) expect([ip, isForbiddenAddress(ip)]).toEqual([ip, true]);
  });

  it.each([
    ['IPv4-mapped, dotted', '::ffff:127.0.0.1'],
    ['IPv4-mapped, hex', '::ffff:7f00:1'],
    ['IPv4-mapped, expanded', '0:0:0:0:0:ffff:a9fe:a9fe'],
    ['IPv4-mapped metadata, dotted', '::ffff:169.254.169.254'],
    ['IPv4-translated', '::ffff:0:10.0.0.1'],
    ['IPv4-compatible', '::127.0.0.1'],
    ['IPv4-compatible, hex', '::a00:1'],
    ['NAT64, dotted', '64:ff9b::192.168.1.1'],
    ['NAT64, hex', '64:ff9b::7f00:1'],
    ['6to4', '2002:7f00:1::1'],
  ])('refuses private IPv4 embedded in IPv6 (%s)', (_, ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '100.63.255.255', // just below CGNAT
    '100.128.0.0', // just above CGNAT
    '172.15.255.255', // just below 172.16/12
    '172.32.0.0', // just above
    '169.253.255.255',
    '192.0.1.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255', // just below multicast
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '2001:db9::1', // just past documentation
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ])('allows public %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });

  it.each(['', 'localhost', 'example.com', '1.2.3', '256.1.1.1', '::ffff:1.2.3.4.5'])('refuses what is not an IP address: %j', (value) => {
    expect(isForbiddenAddress(value)).toBe(true);
  });
});

describe('checkTargetUrl', () => {
  it.each([
    'https://hooks.example.com/lms',
    'https://hooks.example.com:8443/lms?token=abc#frag',
    'https://8.8.8.8/hook',
    'https://[2606:4700::1111]/hook',
  ])('accepts public https URL %s', (url) => {
    expect(checkTargetUrl(url, false)).toBeUndefined();
  });

  it.each([
    ['not a URL', 'hooks.example.com/lms', /absolute URL/],
    ['relative', '/lms', /absolute URL/],
    ['other scheme', 'ftp://hooks.example.com/', /https or http/],
    ['javascript', 'javascript:alert(1)', /https or http/],
    ['userinfo', 'https://user:pass@hooks.example.com/', /credentials/],
    ['user only', 'https://user@hooks.example.com/', /credentials/],
    ['too long', `https://hooks.example.com/${'a'.repeat(2048)}`, /2048/],
  ])('refuses %s in any mode', (_, url, message) => {
    expect(checkTargetUrl(url, false)).toMatch(message);
    expect(checkTargetUrl(url, true)).toMatch(message);
  });

  it.each([
    ['plain http', 'http://hooks.example.com/', /https/],
    ['loopback', 'https://127.0.0.1/', /private/],
    ['loopback in hex notation', 'https://0x7f.0.0.1/', /private/],
    ['loopback as a number', 'https://2130706433/', /private/],
    ['metadata', 'https://169.254.169.254/latest/meta-data', /private/],
    ['private', 'https://10.0.0.5:8443/', /private/],
    ['IPv6 loopback', 'https://[::1]/', /private/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/', /private/],
    ['IPv6 metadata', 'https://[fd00:ec2::254]/', /private/],
    ['localhost', 'https://localhost/', /local host name/],
    ['localhost, upper case with a trailing dot', 'https://LOCALHOST./', /local host name/],
    ['a *.localhost name', 'https://api.localhost/', /local host name/],
    ['an *.internal name', 'https://ip-10-0-0-1.ec2.internal/', /local host name/],
    ['an *.local name', 'https://printer.local/', /local host name/],
  ])('refuses %s when private targets are not allowed', (_, url, message) => {
    expect(checkTargetUrl(url, false)).toMatch(message);
  });

  it.each(['http://127.0.0.1:4000/hook', 'http://localhost:4000/hook', 'https://[::1]/', 'http://listener.internal/'])(
    'accepts %s when private targets are allowed',
    (url) => {
      expect(checkTargetUrl(url, true)).toBeUndefined();
    },
  );

  it('does not mistake names that merely contain a local word', () => {
    expect(checkTargetUrl('https://localhost.example.com/', false)).toBeUndefined();
    expect(checkTargetUrl('https://internal-hooks.example.com/', false)).toBeUndefined();
  });

  it('accepts exactly 2048 characters', () => {
    const base = 'https://hooks.example.com/';
    expect(checkTargetUrl(base + 'a'.repeat(2048 - base.length), false)).toBeUndefined();
  });
});
