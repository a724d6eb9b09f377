import { BlockList, isIP } from 'node:net';
import IP2Region from 'ip2region';

/** Region of a source address (R-ACT-1 activation location, R-SRC-1). Empty strings = unknown. */
export interface Region {
  country: string;
  province: string;
  city: string;
  isp: string;
}

export const UNKNOWN_REGION: Region = Object.freeze({ country: '', province: '', city: '', isp: '' });

/** Addresses that never locate a device: private, loopback, link-local, CGNAT, unspecified, multicast, documentation. */
function nonPublic(): BlockList {
  const b = new BlockList();
  for (const [net, len] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 3],
  ] as const)
    b.addSubnet(net, len, 'ipv4');
  for (const [net, len] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
    ['2001:db8::', 32],
  ] as const)
    b.addSubnet(net, len, 'ipv6');
  return b;
}

/**
 * IP → region with the ip2region database shipped inside the `ip2region` npm package
 * (IPv4 ip2region.db + IPv6 ipv6wry.db, read once into memory: no network, ~10 µs a lookup).
 * Non-public addresses are `unknown` without a lookup; IPv4-mapped IPv6 is looked up as IPv4.
 */
export class GeoLocator {
  private readonly db: IP2Region;
  private readonly blocked = nonPublic();

  constructor() {
    this.db = new IP2Region();
  }

  lookup(ip: string): Region {
    let addr = ip.replace(/^\[|\]$/g, '');
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
    if (mapped) addr = mapped[1]!;
    const family = isIP(addr);
    if (family === 0) return UNKNOWN_REGION;
    if (this.blocked.check(addr, family === 4 ? 'ipv4' : 'ipv6')) return UNKNOWN_REGION;
    try {
      const r = this.db.search(addr);
      if (!r) return UNKNOWN_REGION;
      const clean = (s: string | undefined) => (s && s !== '0' && s !== '内网IP' && s !== '本机地址' ? s : '');
      const out = { country: clean(r.country), province: clean(r.province), city: clean(r.city), isp: clean(r.isp) };
      return out.country || out.province || out.city || out.isp ? out : UNKNOWN_REGION;
    } catch {
      return UNKNOWN_REGION;
    }
  }
}

/** `country|province|city|isp` with empty parts dropped, or `unknown`. */
export function regionLabel(r: Region): string {
  const parts = [r.country, r.province, r.city, r.isp].filter(Boolean);
  return parts.length ? parts.join('|') : 'unknown';
}
