import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a delivery may reach when private targets are not allowed (SSRF guard): no
 * loopback, private, link-local (cloud metadata), shared, documentation, benchmarking, multicast
 * or reserved ranges. IPv6 forms that carry an IPv4 address (mapped, translated, compatible,
 * NAT64, 6to4) are judged by that IPv4 address.
 */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. the instance metadata service 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255
];

const FORBIDDEN_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['64:ff9b:1::', 48], // local-use NAT64
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. the instance metadata service fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

const forbidden = new BlockList();
for (const [net, prefix] of FORBIDDEN_V4) forbidden.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of FORBIDDEN_V6) forbidden.addSubnet(net, prefix, 'ipv6');

/** True when a delivery must not connect to `ip`. Anything that is not an IP address is refused too. */
export function isForbiddenAddress(ip: string): boolean {
  const address = bare(ip);
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, 'ipv4');
  if (family !== 6) return true;
  if (forbidden.check(address, 'ipv6')) return true;
  const embedded = embeddedIpv4(ipv6Words(address));
  return embedded !== undefined && forbidden.check(embedded, 'ipv4');
}

/** Strips URL brackets and an IPv6 zone (`fe80::1%eth0`). */
function bare(ip: string): string {
  const unbracketed = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const zone = unbracketed.indexOf('%');
  return zone === -1 ? unbracketed : unbracketed.slice(0, zone);
}

/** The eight 16-bit groups of a valid IPv6 address. */
function ipv6Words(address: string): number[] {
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  let hex = address;
  if (tail.includes('.')) {
    // A dotted IPv4 tail (`::ffff:1.2.3.4`) is the last two groups written differently.
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    hex = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = hex.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const words = groups(head);
  if (rest !== undefined) {
    const after = groups(rest);
    words.push(...Array<string>(8 - words.length - after.length).fill('0'), ...after);
  }
  return words.map((w) => parseInt(w, 16));
}

function embeddedIpv4(w: number[]): string | undefined {
  const zeros = (from: number, to: number): boolean => w.slice(from, to).every((x) => x === 0);
  const dotted = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const mapped = zeros(0, 5) && w[5] === 0xffff; // ::ffff:a.b.c.d
  const translated = zeros(0, 4) && w[4] === 0xffff && w[5] === 0; // ::ffff:0:a.b.c.d
  const compatible = zeros(0, 6); // ::a.b.c.d (deprecated, still routed by some stacks)
  const nat64 = w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6); // 64:ff9b::a.b.c.d
  if (mapped || translated || compatible || nat64) return dotted(w[6]!, w[7]!);
  if (w[0] === 0x2002) return dotted(w[1]!, w[2]!); // 6to4: 2002:AABB:CCDD::/48
  return undefined;
}

const MAX_URL_LENGTH = 2048;
const LOCAL_NAME = /(^|\.)(localhost|internal|local)$/;

/**
 * Checks a listener URL when a webhook is created or edited; returns what is wrong, or undefined.
 * Names are not resolved here: the delivery refuses forbidden addresses again when it connects,
 * which is the check that counts (a name can resolve differently later).
 */
export function checkTargetUrl(raw: string, allowPrivate: boolean): string | undefined {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https or http';
  if (url.username || url.password) return 'must not contain credentials; use the webhook auth instead';
  if (allowPrivate) return undefined;
  if (url.protocol !== 'https:') return 'must use https';
  // The URL parser has already normalised the host: lower case, IPv4 in dotted form, IPv6 in brackets.
  const host = url.hostname.replace(/\.$/, '');
  if (isIP(bare(host)) !== 0) {
    return isForbiddenAddress(host) ? 'must not point to a private, loopback or reserved address' : undefined;
  }
  if (LOCAL_NAME.test(host)) return 'must not point to a local host name';
  return undefined;
}
