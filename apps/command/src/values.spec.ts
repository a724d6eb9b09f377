import { LwM2mPath, ObjectModelRegistry } from '@dmp/lwm2m';
import { contentOf, jsonToValue, nodeFromJson, ValueError } from './values';

const models = ObjectModelRegistry.default();

describe('JSON values ↔ LwM2M', () => {
  it('converts every type, refusing garbage', () => {
    expect(jsonToValue('INTEGER', 5, 'x')).toBe(5);
    expect(jsonToValue('INTEGER', '-9223372036854775808', 'x')).toBe(-9223372036854775808n);
    expect(() => jsonToValue('UNSIGNED_INTEGER', -1, 'x')).toThrow(ValueError);
    expect(() => jsonToValue('INTEGER', '9223372036854775808', 'x')).toThrow(ValueError);
    expect(jsonToValue('OPAQUE', 'AQI=', 'x')).toEqual(new Uint8Array([1, 2]));
    expect(() => jsonToValue('OPAQUE', 'not base64!', 'x')).toThrow(ValueError);
    expect(jsonToValue('TIME', 1700000000, 'x')).toEqual(new Date(1700000000 * 1000));
    expect(() => jsonToValue('TIME', 'soon', 'x')).toThrow(ValueError);
    expect(jsonToValue('OBJLNK', { objectId: 3, instanceId: 0 }, 'x')).toEqual({ objectId: 3, instanceId: 0 });
    expect(jsonToValue('OBJLNK', '3:1', 'x')).toEqual({ objectId: 3, instanceId: 1 });
    expect(() => jsonToValue('OBJLNK', { objectId: 70000, instanceId: 0 }, 'x')).toThrow(ValueError);
    expect(() => jsonToValue('BOOLEAN', 'true', 'x')).toThrow(ValueError);
    expect(() => jsonToValue('FLOAT', Number.NaN, 'x')).toThrow(ValueError);
  });

  it('builds nodes at instance, resource and resource-instance paths', () => {
    expect(nodeFromJson(models, LwM2mPath.parse('/1/0'), { '1': 300 })).toMatchObject({ kind: 'objectInstance', id: 0 });
    // /3/0/7 Power Source Voltage is a multiple integer resource
    const m = nodeFromJson(models, LwM2mPath.parse('/3/0/7'), { '0': 3800, '1': 5000 });
    expect(m).toMatchObject({ kind: 'multipleResource', id: 7, type: 'INTEGER' });
    expect(() => nodeFromJson(models, LwM2mPath.parse('/3/0/7'), 3800)).toThrow(/instanceId/);
    expect(nodeFromJson(models, LwM2mPath.parse('/3/0/7/1'), 42)).toMatchObject({ kind: 'resourceInstance', id: 1, value: 42 });
  });

  it('renders results: a value, maps by id, objlnk objects, link-format text, base64 otherwise', () => {
    const p = (s: string) => LwM2mPath.parse(s);
    expect(contentOf(p('/3/0/0'), { values: [{ path: '/3/0/0', type: 'string', value: 'x' }] })).toBe('x');
    expect(
      contentOf(p('/3/0'), {
        values: [
          { path: '/3/0/0', type: 'string', value: 'x' },
          { path: '/3/0/7/0', type: 'integer', value: 1 },
          { path: '/3/0/7/1', type: 'integer', value: 2 },
        ],
      }),
    ).toEqual({ '0': 'x', '7': { '0': 1, '1': 2 } });
    expect(contentOf(p('/3'), { values: [{ path: '/3/0/0', type: 'string', value: 'x' }] })).toEqual({ '0': { '0': 'x' } });
    expect(contentOf(p('/1/0/9'), { values: [{ path: '/1/0/9', type: 'objlnk', value: '3:0' }] })).toEqual({ objectId: 3, instanceId: 0 });
    expect(contentOf(p('/3'), { payload: Buffer.from('</3/0>').toString('base64'), contentFormat: 40 })).toBe('</3/0>');
    expect(contentOf(p('/3/0/0'), { payload: 'AQI=', contentFormat: 42 })).toBe('AQI=');
    expect(contentOf(p('/3/0/0'), {})).toBeUndefined();
  });
});
