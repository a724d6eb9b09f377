import { route, type RouteInput } from './route';
import type { Registration } from './store';

const now = 1_700_000_000_000;
const reg = (o: Partial<Registration> = {}): Registration => ({ gatewayId: 'gw-a', lwm2mVersion: '1.1', queueMode: false, deadline: now + 60_000, lastSeen: now - 1000, ...o });
const at = (o: Partial<RouteInput>) => route({ epi: '861234567890123', reg: reg(), now, queue: undefined, awakeWindowMs: 20_000, gatewayAlive: true, ...o });

describe('route (where a submitted operation goes)', () => {
  it('a live, awake device behind a live gateway: sent to that gateway, whatever `queue` says', () => {
    for (const queue of [undefined, true, false]) expect(at({ queue })).toEqual({ kind: 'send', gatewayId: 'gw-a' });
  });

  it('offline (no registration, or past its deadline): queued only with queue true, else 409 device-offline', () => {
    for (const r of [undefined, reg({ deadline: now - 1 })]) {
      expect(at({ reg: r, queue: true })).toEqual({ kind: 'queue', reason: 'device-offline' });
      for (const queue of [undefined, false]) expect(at({ reg: r, queue })).toMatchObject({ kind: 'refuse', status: 409, reason: 'device-offline' });
    }
  });

  it('queue mode and silent longer than the awake window: queued (device-asleep), even with queue false', () => {
    const asleep = reg({ queueMode: true, lastSeen: now - 20_001 });
    for (const queue of [undefined, true, false]) expect(at({ reg: asleep, queue })).toEqual({ kind: 'queue', reason: 'device-asleep' });
    expect(at({ reg: reg({ queueMode: true, lastSeen: now - 20_000 }) })).toEqual({ kind: 'send', gatewayId: 'gw-a' });
  });

  it('the owning gateway vanished: queued (gateway-unavailable) unless queue is explicitly false (409 with that reason)', () => {
    expect(at({ gatewayAlive: false })).toEqual({ kind: 'queue', reason: 'gateway-unavailable' });
    expect(at({ gatewayAlive: false, queue: true })).toEqual({ kind: 'queue', reason: 'gateway-unavailable' });
    const refused = at({ gatewayAlive: false, queue: false });
    expect(refused).toMatchObject({ kind: 'refuse', status: 409, reason: 'gateway-unavailable' });
    expect(refused.kind === 'refuse' && refused.message).toMatch(/gw-a.*no heartbeat/);
  });

  it('offline wins over a vanished gateway (the registration is gone either way)', () => {
    expect(at({ reg: reg({ deadline: now - 1 }), gatewayAlive: false, queue: false })).toMatchObject({ kind: 'refuse', reason: 'device-offline' });
  });
});
