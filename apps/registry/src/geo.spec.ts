import { GeoLocator, regionLabel, UNKNOWN_REGION } from './geo';

describe('GeoLocator (ip2region database shipped in the npm package, offline)', () => {
  const geo = new GeoLocator();

  it('maps well-known Chinese public DNS addresses to the province / city / ISP of the database', () => {
    // China Mobile's Beijing DNS
    expect(geo.lookup('211.136.17.107')).toEqual({ country: '中国', province: '北京', city: '北京市', isp: '移动' });
    // AliDNS (Hangzhou)
    expect(geo.lookup('223.5.5.5')).toEqual({ country: '中国', province: '浙江省', city: '杭州市', isp: '阿里云' });
    // DNSPod (Tencent)
    expect(geo.lookup('119.29.29.29')).toMatchObject({ country: '中国', province: '北京', isp: '腾讯' });
    // 114DNS (Nanjing)
    expect(geo.lookup('114.114.114.114')).toMatchObject({ country: '中国', province: '江苏省', city: '南京市' });
    expect(regionLabel(geo.lookup('211.136.17.107'))).toBe('中国|北京|北京市|移动');
  });

  it('private, loopback and malformed addresses are unknown', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '172.20.0.5', '100.64.1.1', '::1', 'fe80::1', 'fd00::5', 'not-an-ip', '']) {
      expect(geo.lookup(ip)).toEqual(UNKNOWN_REGION);
    }
    expect(regionLabel(geo.lookup('127.0.0.1'))).toBe('unknown');
  });

  it('IPv4-mapped IPv6 and bracketed forms are looked up as IPv4', () => {
    expect(geo.lookup('::ffff:211.136.17.107')).toMatchObject({ province: '北京', isp: '移动' });
    expect(geo.lookup('::ffff:127.0.0.1')).toEqual(UNKNOWN_REGION);
  });

  it('looks up in microseconds', () => {
    const n = 20000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) geo.lookup(`221.130.${i % 250}.${(i * 7) % 250}`);
    const usPerLookup = Number(process.hrtime.bigint() - t0) / 1000 / n;
    expect(usPerLookup).toBeLessThan(200); // loose bound on a shared machine; the bench reports the real figure
  });
});
