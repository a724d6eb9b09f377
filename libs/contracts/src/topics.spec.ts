import { ContractError, decodeMessage, encodeMessage } from './topic';
import { TOPIC_CATALOGUE, Topics } from './topics';

const registered = {
  v: 1 as const,
  type: 'registered' as const,
  epi: '861234567890123',
  ts: 1_700_000_000_000,
  eventId: 'e7c1f2a0-0000-4000-8000-000000000001',
  gatewayId: 'gw-a',
  address: { ip: '10.0.0.7', port: 40123 },
  endpoint: 'urn:imei:861234567890123',
  location: '861234567890123;1.0',
  lifetime: 86400,
  lwm2mVersion: '1.1',
  binding: 'U',
  links: '</3/0>,</4/0>',
  replaced: false,
};

describe('topic catalogue', () => {
  it('has unique, versioned names', () => {
    const names = TOPIC_CATALOGUE.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of TOPIC_CATALOGUE) expect(t.name).toMatch(/\.v\d+$/);
  });

  it('round-trips a device event', () => {
    const m = encodeMessage(Topics.deviceEvents, registered.epi, registered);
    expect(m.key).toBe(registered.epi);
    expect(decodeMessage(Topics.deviceEvents, Buffer.from(m.key), m.value)).toEqual({ key: registered.epi, value: registered });
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'VALUE_NOT_JSON'],
    ['missing field', Buffer.from(JSON.stringify({ ...registered, lifetime: undefined })), 'VALUE_INVALID'],
    ['unknown type', Buffer.from(JSON.stringify({ ...registered, type: 'exploded' })), 'VALUE_INVALID'],
    ['tombstone', null, 'VALUE_MISSING'],
  ])('rejects %s with a reason', (_name, value, reason) => {
    try {
      decodeMessage(Topics.deviceEvents, registered.epi, value);
      throw new Error('expected ContractError');
    } catch (e) {
      expect(e).toBeInstanceOf(ContractError);
      expect((e as ContractError).reason).toBe(reason);
    }
  });

  it('rejects a bad key', () => {
    expect(() => decodeMessage(Topics.deviceEvents, 'x', Buffer.from(JSON.stringify(registered)))).toThrow(/KEY_INVALID/);
  });

  it('refuses to encode an invalid value', () => {
    expect(() => encodeMessage(Topics.deviceEvents, registered.epi, { ...registered, lifetime: -1 })).toThrow(ContractError);
  });
});
