import { Lwm2mCodecError } from './errors';
import { canonicalInteger, multipleResourceOf, newMultipleResource, newObject, newObjectInstance, newResourceInstance, newSingleResource, nodesEqual, valueToJson } from './node';

describe('LwM2M nodes', () => {
  it('factories build typed nodes and validate values', () => {
    const r = newSingleResource(1, 'INTEGER', 2n);
    expect(r.value).toBe(2); // canonical: safe integers become numbers
    expect(canonicalInteger(2n ** 60n)).toBe(2n ** 60n);
    expect(() => newSingleResource(1, 'INTEGER', 1.5)).toThrow(Lwm2mCodecError);
    expect(() => newSingleResource(1, 'UNSIGNED_INTEGER', -1)).toThrow(Lwm2mCodecError);
    expect(() => newSingleResource(1, 'TIME', new Date(Number.NaN))).toThrow(Lwm2mCodecError);
    expect(() => newSingleResource(70000, 'STRING', 'x')).toThrow(Lwm2mCodecError);
    expect(() => newSingleResource(1, 'OBJLNK', { objectId: 70000, instanceId: 0 })).toThrow(Lwm2mCodecError);
    const m = newMultipleResource(7, 'STRING', { 0: 'a', 1: 'b' });
    expect([...m.instances.keys()]).toEqual([0, 1]);
    expect(nodesEqual(m, multipleResourceOf(7, 'STRING', [newResourceInstance(0, 'STRING', 'a'), newResourceInstance(1, 'STRING', 'b')]))).toBe(true);
    expect(() => multipleResourceOf(7, 'STRING', [newResourceInstance(0, 'INTEGER', 1)])).toThrow(Lwm2mCodecError);
    const o = newObject(3, [newObjectInstance(0, [r, m])]);
    expect(o.instances.get(0)?.resources.size).toBe(2);
    expect(nodesEqual(o, newObject(3, [newObjectInstance(0, [m, r])]))).toBe(true);
    expect(nodesEqual(o, newObject(3, [newObjectInstance(0, [r])]))).toBe(false);
  });

  it('valueToJson gives storable values', () => {
    expect(valueToJson(newSingleResource(0, 'OPAQUE', Uint8Array.from([1, 2])))).toBe('AQI=');
    expect(valueToJson(newSingleResource(0, 'TIME', new Date(5000)))).toBe(5);
    expect(valueToJson(newSingleResource(0, 'INTEGER', 2n ** 62n))).toBe((2n ** 62n).toString());
  });
});
