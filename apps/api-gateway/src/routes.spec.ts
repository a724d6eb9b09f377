import { compileRoutes, matchRoute, ROUTE_KEY } from './routes';

describe('api-gateway routes (most specific prefix, `*` segments)', () => {
  const routes = compileRoutes({
    devices: 'http://registry',
    'devices/*/operations': 'http://command',
    'devices/*/observations': 'http://command',
    operations: 'http://command',
    'devices/*/*': 'http://other',
  });
  const to = (p: string) => matchRoute(routes, p)?.key;

  it('routes by the most specific matching key', () => {
    expect(to('/devices/861234567890123')).toBe('devices');
    expect(to('/devices')).toBe('devices');
    expect(to('/devices/861234567890123/operations')).toBe('devices/*/operations');
    expect(to('/devices/861234567890123/operations/x?wait=1')).toBe('devices/*/operations');
    expect(to('/devices/861234567890123/observations')).toBe('devices/*/observations');
    expect(to('/devices/861234567890123/state')).toBe('devices/*/*');
    expect(to('/operations/abc')).toBe('operations');
    expect(to('/nothing')).toBeUndefined();
    expect(to('/')).toBeUndefined();
    expect(to('/devicesx')).toBeUndefined();
  });

  it('matches OpenAPI templates: `{param}` only matches `*`', () => {
    expect(to('/devices/{epi}/operations')).toBe('devices/*/operations');
    expect(to('/devices/{epi}')).toBe('devices');
  });

  it('accepts lowercase segments and `*` after the first segment only', () => {
    expect(ROUTE_KEY.test('devices/*/operations')).toBe(true);
    expect(ROUTE_KEY.test('devices')).toBe(true);
    expect(ROUTE_KEY.test('*/x')).toBe(false);
    expect(ROUTE_KEY.test('Devices')).toBe(false);
    expect(ROUTE_KEY.test('devices/')).toBe(false);
  });
});
