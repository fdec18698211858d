import { isIPv4, isIPv6 } from "node:net";

/*
 * Which IP addresses the gateway may connect to when it fetches a caller-supplied URL. Everything
 * that is not globally routable unicast is refused: an attacker who can make the gateway fetch
 * 127.0.0.1, 10.x or 169.254.169.254 (cloud metadata) can read internal services (SSRF).
 */

interface Ipv4Range {
  readonly base: number;
  readonly prefix: number;
  readonly kind: string;
}

const IPV4_RANGES: readonly Ipv4Range[] = [
  { base: ipv4ToNumber("0.0.0.0"), prefix: 8, kind: "unspecified (0.0.0.0/8)" },
  { base: ipv4ToNumber("10.0.0.0"), prefix: 8, kind: "private (10.0.0.0/8)" },
  { base: ipv4ToNumber("100.64.0.0"), prefix: 10, kind: "carrier-grade NAT (100.64.0.0/10)" },
  { base: ipv4ToNumber("127.0.0.0"), prefix: 8, kind: "loopback (127.0.0.0/8)" },
  { base: ipv4ToNumber("169.254.0.0"), prefix: 16, kind: "link-local (169.254.0.0/16)" },
  { base: ipv4ToNumber("172.16.0.0"), prefix: 12, kind: "private (172.16.0.0/12)" },
  { base: ipv4ToNumber("192.0.0.0"), prefix: 24, kind: "reserved (192.0.0.0/24)" },
  { base: ipv4ToNumber("192.0.2.0"), prefix: 24, kind: "documentation (192.0.2.0/24)" },
  { base: ipv4ToNumber("192.168.0.0"), prefix: 16, kind: "private (192.168.0.0/16)" },
  { base: ipv4ToNumber("198.18.0.0"), prefix: 15, kind: "benchmarking (198.18.0.0/15)" },
  { base: ipv4ToNumber("198.51.100.0"), prefix: 24, kind: "documentation (198.51.100.0/24)" },
  { base: ipv4ToNumber("203.0.113.0"), prefix: 24, kind: "documentation (203.0.113.0/24)" },
  { base: ipv4ToNumber("224.0.0.0"), prefix: 4, kind: "multicast (224.0.0.0/4)" },
  { base: ipv4ToNumber("240.0.0.0"), prefix: 4, kind: "reserved (240.0.0.0/4)" },
];

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function ipv4Kind(value: number): string | undefined {
  for (const range of IPV4_RANGES) {
    const size = 2 ** (32 - range.prefix);
    if (value >= range.base && value < range.base + size) return range.kind;
  }
  return undefined;
}

/** Parses an IPv6 address (with optional zone and embedded dotted quad) into 8 16-bit groups. */
function parseIpv6(address: string): number[] | undefined {
  const zoneless = address.split("%")[0] ?? "";
  if (!isIPv6(zoneless)) return undefined;
  let text = zoneless;
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = ipv4ToNumber(last);
    text = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = text.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length > 1 ? Array<string>(8 - head.length - tail.length).fill("0") : [];
  const groups = [...head, ...fill, ...tail].map((group) => Number.parseInt(group, 16));
  if (groups.length !== 8 || groups.some((group) => Number.isNaN(group))) return undefined;
  return groups;
}

function embeddedIpv4(high: number, low: number): number {
  return high * 65536 + low;
}

function ipv6Kind(groups: readonly number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const firstSixZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstSixZero && g5 === 0 && g6 === 0 && g7 === 0) return "unspecified (::)";
  if (firstSixZero && g5 === 0 && g6 === 0 && g7 === 1) return "loopback (::1)";
  if (firstSixZero && g5 === 0xffff) {
    const inner = ipv4Kind(embeddedIpv4(g6, g7));
    return inner ? `IPv4-mapped ${inner}` : undefined;
  }
  if (firstSixZero && g5 === 0) {
    const inner = ipv4Kind(embeddedIpv4(g6, g7));
    return `IPv4-compatible ${inner ?? "(deprecated) address"}`;
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    const inner = ipv4Kind(embeddedIpv4(g6, g7));
    return inner ? `NAT64 ${inner}` : undefined;
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return "local-use NAT64 (64:ff9b:1::/48)";
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return "discard (100::/64)";
  if (g0 === 0x2001 && g1 === 0) return "Teredo tunnel (2001::/32)";
  if (g0 === 0x2001 && g1 === 2 && g2 === 0) return "benchmarking (2001:2::/48)";
  if (g0 === 0x2001 && (g1 & 0xfff0) === 0x10) return "ORCHID (2001:10::/28)";
  if (g0 === 0x2001 && g1 === 0xdb8) return "documentation (2001:db8::/32)";
  if (g0 === 0x3fff && (g1 & 0xf000) === 0) return "documentation (3fff::/20)";
  if (g0 === 0x2002) {
    const inner = ipv4Kind(embeddedIpv4(g1, g2));
    return inner ? `6to4 ${inner}` : undefined;
  }
  if ((g0 & 0xfe00) === 0xfc00) return "unique local (fc00::/7)";
  if ((g0 & 0xffc0) === 0xfe80) return "link-local (fe80::/10)";
  if ((g0 & 0xffc0) === 0xfec0) return "site-local (fec0::/10)";
  if ((g0 & 0xff00) === 0xff00) return "multicast (ff00::/8)";
  // Global unicast is 2000::/3; the rest is reserved or special (e.g. ::ffff:0:a.b.c.d, SIIT's
  // IPv4-translated form, which a translator would turn into the private IPv4 address it carries).
  if ((g0 & 0xe000) !== 0x2000) return "reserved (outside 2000::/3)";
  return undefined;
}

/**
 * Says why an IP address is not a public unicast address ("loopback (127.0.0.0/8)", "private
 * (10.0.0.0/8)", "IPv4-mapped link-local (169.254.0.0/16)", ...), or undefined when it is public.
 * IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 forms are judged by the IPv4 address they
 * carry. Anything that is not an IP address is reported as such, so callers fail closed.
 */
export function nonPublicAddressKind(address: string): string | undefined {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return ipv4Kind(ipv4ToNumber(bare));
  const groups = parseIpv6(bare);
  if (!groups) return "not an IP address";
  return ipv6Kind(groups);
}

/** True when `address` is a globally routable unicast IPv4 or IPv6 address (see {@link nonPublicAddressKind}). */
export function isPublicAddress(address: string): boolean {
  return nonPublicAddressKind(address) === undefined;
}
