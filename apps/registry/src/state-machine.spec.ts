import type { DeviceEvent } from '@dmp/contracts';
import { type CurrentState, decide } from './state-machine';

const addr = { ip: '10.0.0.1', port: 5683 };
const base = { v: 1 as const, epi: '490154203237518' };
const reg = (ts: number, eventId = `reg-${ts}-xxxx`): DeviceEvent => ({
  ...base, ts, eventId, type: 'registered', gatewayId: 'gw', address: addr, endpoint: 'urn:imei:490154203237518', location: 'x', lifetime: 60, lwm2mVersion: '1.1', binding: 'U', links: '', replaced: false,
});
const upd = (ts: number): DeviceEvent => ({ ...base, ts, eventId: `upd-${ts}-xxxx`, type: 'updated', gatewayId: 'gw', address: addr, lifetime: 60 });
const off = (ts: number, deadline: number): DeviceEvent => ({ ...base, ts, eventId: `off-${ts}-xxxx`, type: 'offline', reason: 'lifetime-timeout', deadline });
const dereg = (ts: number): DeviceEvent => ({ ...base, ts, eventId: `der-${ts}-xxxx`, type: 'deregistered', gatewayId: 'gw', address: addr });
const fresh: CurrentState = { state: null, since: null, eventId: null, lastSeen: null };
const online = (since: number, lastSeen = since): CurrentState => ({ state: 'ONLINE', since, eventId: `reg-${since}-xxxx`, lastSeen });

describe('device state machine', () => {
  it('first registration: none → ONLINE', () => {
    expect(decide(fresh, reg(1000))).toEqual({ to: 'ONLINE', reason: 'registered', record: true, apply: true, replay: false });
  });
  it('update while ONLINE is not a transition; update while OFFLINE is', () => {
    expect(decide(online(1000), upd(2000))).toMatchObject({ record: false, apply: false });
    expect(decide({ state: 'OFFLINE', since: 5000, eventId: 'o', lastSeen: 1000 }, upd(6000))).toMatchObject({ to: 'ONLINE', apply: true });
  });
  it('timeout: ONLINE → OFFLINE; de-register: ONLINE → DEREGISTERED', () => {
    expect(decide(online(1000, 2000), off(9000, 7000))).toMatchObject({ to: 'OFFLINE', reason: 'lifetime-timeout', record: true, apply: true });
    expect(decide(online(1000), dereg(3000))).toMatchObject({ to: 'DEREGISTERED', record: true, apply: true });
  });
  it('a timeout older than the last contact is recorded but does not make the device OFFLINE', () => {
    expect(decide(online(12000), off(11000, 7000))).toMatchObject({ record: true, apply: false });
    expect(decide(online(1000, 8000), off(9500, 7000))).toMatchObject({ record: true, apply: false });
  });
  it('a replay of the event that set the state is flagged, not re-applied', () => {
    expect(decide(online(1000), reg(1000))).toMatchObject({ replay: true, record: false, apply: false });
  });
  it('awake changes nothing', () => {
    expect(decide(online(1000), { ...base, ts: 2000, eventId: 'awake-xxxx', type: 'awake', gatewayId: 'gw', address: addr })).toEqual({ record: false, apply: false, replay: false });
  });
});
