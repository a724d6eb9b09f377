import { ContentFormat, ContentFormatRegistry, type NodeCodec } from './content-format';
import { opaqueCodec } from './formats/opaque';
import { textCodec } from './formats/text';
import { tlvCodec } from './formats/tlv';
import { OperationError } from './errors';
import { createDefaultContentFormatRegistry } from './index';
import { ObjectModelRegistry } from './model/registry';
import { newMultipleResource, newObjectInstance, newResourceInstance, newSingleResource, nodesEqual, type LwM2mObjectInstance } from './node';
import {
  bootstrapDeleteRequest,
  bootstrapDiscoverRequest,
  bootstrapFinishRequest,
  bootstrapWriteRequest,
  cancelObserveRequest,
  createRequest,
  deleteRequest,
  discoverRequest,
  executeRequest,
  observeRequest,
  preferredContentFormat,
  readRequest,
  writeAttributesRequest,
  writeRequest,
  type OperationContext,
} from './operations';
import { LwM2mPath } from './path';
import { decodeTlv } from './formats/tlv';

const models = ObjectModelRegistry.default();
const ctx: OperationContext = { models, formats: createDefaultContentFormatRegistry() };
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof OperationError) return e.reason;
    throw e;
  }
  return 'none';
}

describe('spec §8.5.1 table 8-16 Read (R-DM-1)', () => {
  it('GET /3/0 with Accept TLV for LwM2M 1.0', () => {
    expect(readRequest(ctx, '/3/0')).toMatchObject({ operation: 'read', method: 'GET', uriPath: ['3', '0'], uriQuery: [], accept: 11542 });
    expect(readRequest(ctx, '/3/0/0', { format: ContentFormat.TEXT }).accept).toBe(0);
    expect(readRequest(ctx, '/3', { format: null }).accept).toBeUndefined();
  });
  it('rejects reading an executable resource, unknown resources, the root path', () => {
    expect(reason(() => readRequest(ctx, '/3/0/4'))).toBe('NOT_READABLE');
    expect(reason(() => readRequest(ctx, '/3/0/999'))).toBe('UNKNOWN_RESOURCE');
    expect(reason(() => readRequest(ctx, '/'))).toBe('INVALID_PATH');
    expect(reason(() => readRequest(ctx, '/x'))).toBe('INVALID_PATH');
    expect(reason(() => readRequest({ ...ctx, strict: true }, '/9999/0'))).toBe('UNKNOWN_OBJECT');
    expect(readRequest(ctx, '/9999/0/1').path.toString()).toBe('/9999/0/1'); // unknown object allowed when not strict
  });
  it('prepends an alternate root path', () => {
    expect(readRequest({ ...ctx, rootPath: ['lwm2m'] }, '/3/0').uriPath).toEqual(['lwm2m', '3', '0']);
  });
});

describe('content-format negotiation per LwM2M version', () => {
  it('1.0 → TLV; 1.1 → SenML CBOR when registered, else TLV', () => {
    const tlvOnly = new ContentFormatRegistry([textCodec, opaqueCodec, tlvCodec]);
    expect(preferredContentFormat({ formats: tlvOnly, lwm2mVersion: '1.0' })).toBe(11542);
    expect(preferredContentFormat({ formats: tlvOnly, lwm2mVersion: '1.1' })).toBe(11542);
    const fake: NodeCodec = { name: 'fake-senml-cbor', formats: [112], supportsPath: () => true, decode: () => newSingleResource(0, 'STRING', ''), encode: () => new Uint8Array([0xa0]) };
    const formats = new ContentFormatRegistry([textCodec, opaqueCodec, tlvCodec]).register(fake);
    expect(preferredContentFormat({ formats, lwm2mVersion: '1.1' })).toBe(112);
    expect(readRequest({ ...ctx, formats, lwm2mVersion: '1.2' }, '/3/0').accept).toBe(112);
    expect(reason(() => readRequest({ ...ctx, formats: tlvOnly }, '/3/0', { format: 110 }))).toBe('UNSUPPORTED_FORMAT');
    // the default registry ships SenML CBOR: 1.0 still TLV, 1.1+ SenML CBOR
    const all = createDefaultContentFormatRegistry();
    expect(preferredContentFormat({ formats: all, lwm2mVersion: '1.0' })).toBe(11542);
    expect(preferredContentFormat({ formats: all, lwm2mVersion: '1.1' })).toBe(112);
  });
});

describe('spec §8.5.2 table 8-17 Write (R-DM-1)', () => {
  it('PUT /1/0/1 (Server lifetime) with a TLV payload', () => {
    const req = writeRequest(ctx, '/1/0/1', newSingleResource(1, 'INTEGER', 300));
    expect(req).toMatchObject({ operation: 'write-replace', method: 'PUT', uriPath: ['1', '0', '1'], contentFormat: 11542 });
    expect(hex(req.payload)).toBe('c201012c');
  });
  it('POST partial update of an instance, bare resource TLVs', () => {
    const inst = newObjectInstance(0, [newSingleResource(1, 'INTEGER', 60), newSingleResource(7, 'STRING', 'U')]);
    const req = writeRequest(ctx, '/1/0', inst, { mode: 'update' });
    expect(req.method).toBe('POST');
    expect(req.operation).toBe('write-update');
    expect(nodesEqual(decodeTlv(req.payload!, LwM2mPath.parse('/1/0'), models), inst)).toBe(true);
  });
  it('text/plain write of a single value', () => {
    const req = writeRequest(ctx, '/3/0/14', newSingleResource(14, 'STRING', '+08:00'), { format: 0 });
    expect(new TextDecoder().decode(req.payload)).toBe('+08:00');
  });
  it('rejects writes to read-only / executable resources before building', () => {
    expect(reason(() => writeRequest(ctx, '/3/0/0', newSingleResource(0, 'STRING', 'x')))).toBe('NOT_WRITABLE');
    expect(reason(() => writeRequest(ctx, '/3/0/4', newSingleResource(4, 'OPAQUE', new Uint8Array())))).toBe('NOT_WRITABLE');
    expect(reason(() => writeRequest(ctx, '/3/0', newObjectInstance(0, [newSingleResource(14, 'STRING', 'x'), newSingleResource(0, 'STRING', 'x')])))).toBe('NOT_WRITABLE');
  });
  it('rejects type / shape mismatches and wrong paths', () => {
    expect(reason(() => writeRequest(ctx, '/1/0/1', newSingleResource(1, 'STRING', '300')))).toBe('INVALID_NODE');
    expect(reason(() => writeRequest(ctx, '/1/0/1', newMultipleResource(1, 'INTEGER', [[0, 1]])))).toBe('INVALID_NODE');
    expect(reason(() => writeRequest(ctx, '/1/0', newSingleResource(1, 'INTEGER', 1)))).toBe('INVALID_NODE');
    expect(reason(() => writeRequest(ctx, '/1', newObjectInstance(0, [])))).toBe('INVALID_PATH');
    expect(reason(() => writeRequest(ctx, '/1/0/1/0', newResourceInstance(0, 'INTEGER', 1)))).toBe('INVALID_PATH');
    expect(reason(() => writeRequest(ctx, '/1/0/1', newSingleResource(2, 'INTEGER', 1)))).toBe('INVALID_NODE');
  });
  it('writes a resource instance of a multiple resource', () => {
    const req = writeRequest(ctx, '/2/0/2/1', newResourceInstance(1, 'INTEGER', 7));
    expect(hex(req.payload)).toBe('410107');
  });
});

describe('spec §8.5 Execute / Create / Delete / Discover', () => {
  it('Execute POST /3/0/4 (Reboot) with and without arguments', () => {
    expect(executeRequest(ctx, '/3/0/4')).toMatchObject({ operation: 'execute', method: 'POST', uriPath: ['3', '0', '4'] });
    expect(executeRequest(ctx, '/3/0/4').payload).toBeUndefined();
    const r = executeRequest({ ...ctx, lwm2mVersion: '1.1' }, '/3/0/4', [{ id: 0, value: 'now' }, { id: 1 }]);
    expect(new TextDecoder().decode(r.payload)).toBe("0='now',1");
    expect(r.contentFormat).toBe(0);
    expect(reason(() => executeRequest(ctx, '/3/0/0'))).toBe('NOT_EXECUTABLE');
    expect(reason(() => executeRequest(ctx, '/3/0'))).toBe('INVALID_PATH');
    expect(reason(() => executeRequest(ctx, '/3/0/4', [{ id: 10 }]))).toBe('INVALID_ARGUMENTS');
    expect(reason(() => executeRequest(ctx, '/3/0/4', [{ id: 1, value: "it's" }]))).toBe('INVALID_ARGUMENTS');
  });
  it('Create POST /3303 with TLV, with and without instance id (§8.5.5)', () => {
    const rs = [newSingleResource(5701, 'STRING', 'Cel')];
    const withId = createRequest(ctx, 3303, rs, { instanceId: 2 });
    expect(withId).toMatchObject({ operation: 'create', method: 'POST', uriPath: ['3303'], contentFormat: 11542 });
    expect(hex(withId.payload)).toBe('0602e3164543656c');
    const obj = decodeTlv(withId.payload!, LwM2mPath.parse('/3303'), models);
    expect(obj.kind === 'object' && (obj.instances.get(2) as LwM2mObjectInstance).resources.size).toBe(1);
    expect(hex(createRequest(ctx, 3303, rs).payload)).toBe('e3164543656c');
    expect(reason(() => createRequest(ctx, 3303, [newSingleResource(5701, 'INTEGER', 1)]))).toBe('INVALID_NODE');
  });
  it('Create with SenML JSON names the new instance /o/i; without an instance id it needs TLV', () => {
    const ctxAll = { ...ctx, formats: createDefaultContentFormatRegistry() };
    const rs = [newSingleResource(5701, 'STRING', 'Cel')];
    const r = createRequest(ctxAll, 3303, rs, { instanceId: 7, format: 110 });
    expect(r).toMatchObject({ method: 'POST', uriPath: ['3303'], contentFormat: 110 });
    const records = JSON.parse(new TextDecoder().decode(r.payload)) as Array<{ bn?: string; n?: string; vs?: string }>;
    const names = records.map((x) => `${x.bn ?? records[0]!.bn ?? ''}${x.n ?? ''}`);
    expect(names).toEqual(['/3303/7/5701']);
    expect(records.map((x) => x.vs)).toEqual(['Cel']);
    expect(reason(() => createRequest(ctxAll, 3303, rs, { format: 110 }))).toBe('UNSUPPORTED_FORMAT');
  });
  it('Delete DELETE /3303/0 (§8.5.6)', () => {
    expect(deleteRequest(ctx, '/3303/0')).toMatchObject({ operation: 'delete', method: 'DELETE', uriPath: ['3303', '0'] });
    expect(reason(() => deleteRequest(ctx, '/3303'))).toBe('INVALID_PATH');
  });
  it('Discover GET with Accept 40', () => {
    expect(discoverRequest(ctx, '/3')).toMatchObject({ operation: 'discover', method: 'GET', accept: 40 });
  });
});

describe('spec §8.4.1 table 8-11 Write-Attributes', () => {
  it('PUT /3303/0/5700?pmin=10&pmax=60&gt=30&lt=10&st=1', () => {
    const r = writeAttributesRequest(ctx, '/3303/0/5700', { pmin: 10, pmax: 60, gt: 30, lt: 10, st: 1 });
    expect(r).toMatchObject({ operation: 'write-attributes', method: 'PUT', uriPath: ['3303', '0', '5700'], uriQuery: ['pmin=10', 'pmax=60', 'gt=30', 'lt=10', 'st=1'] });
    expect(r.payload).toBeUndefined();
    expect(writeAttributesRequest(ctx, '/3303/0/5700', { st: 2 }, { stepName: 'stp' }).uriQuery).toEqual(['stp=2']);
    expect(writeAttributesRequest(ctx, '/3/0', { pmin: null }).uriQuery).toEqual(['pmin']);
  });
  it('validates attributes', () => {
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0/5700', {}))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0/5700', { pmin: -1 }))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0/5700', { pmin: 60, pmax: 10 }))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0/5700', { gt: 10, lt: 20 }))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0', { gt: 10 }))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3/0/0', { gt: 10 }))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0/5700', { gt: Number.NaN }))).toBe('INVALID_ATTRIBUTES');
    expect(reason(() => writeAttributesRequest(ctx, '/3303/0/5700', { foo: 1 } as never))).toBe('INVALID_ATTRIBUTES');
  });
});

describe('spec §8.4.2 / §8.4.3 tables 8-12, 8-14 Observe / Cancel (R-OBS-1)', () => {
  it('GET Observe=0 with Accept; cancel GET Observe=1', () => {
    expect(observeRequest(ctx, '/3303/0/5700')).toMatchObject({ operation: 'observe', method: 'GET', observe: 0, accept: 11542, uriPath: ['3303', '0', '5700'] });
    expect(cancelObserveRequest(ctx, '/1/0/5')).toMatchObject({ operation: 'cancel-observe', method: 'GET', observe: 1 });
    expect(reason(() => observeRequest(ctx, '/3/0/4'))).toBe('NOT_READABLE');
  });
});

describe('spec §8.2.2 / §8.2.3 Bootstrap Write / Delete / Finish (R-BS-2, R-BS-3)', () => {
  it('PUT /0/0 writes the access server URI into Security resource 0 (TLV)', () => {
    const inst = newObjectInstance(0, [
      newSingleResource(0, 'STRING', 'coap://10.0.0.1:5683'),
      newSingleResource(1, 'BOOLEAN', false),
      newSingleResource(2, 'INTEGER', 3),
    ]);
    const r = bootstrapWriteRequest(ctx, '/0/0', inst);
    expect(r).toMatchObject({ operation: 'bootstrap-write', method: 'PUT', uriPath: ['0', '0'], contentFormat: 11542 });
    expect(nodesEqual(decodeTlv(r.payload!, LwM2mPath.parse('/0/0'), models), inst)).toBe(true);
    // Bootstrap may write read-only/non-writable resources (Security object has no operations)
    expect(bootstrapWriteRequest(ctx, '/0/0/0', newSingleResource(0, 'STRING', 'coap://a')).uriPath).toEqual(['0', '0', '0']);
    expect(reason(() => bootstrapWriteRequest(ctx, '/0/0', newSingleResource(0, 'STRING', 'x')))).toBe('INVALID_NODE');
  });
  it('Delete / and Finish POST /bs', () => {
    expect(bootstrapDeleteRequest()).toMatchObject({ method: 'DELETE', uriPath: [] });
    expect(bootstrapDeleteRequest('/1')).toMatchObject({ method: 'DELETE', uriPath: ['1'] });
    expect(bootstrapDiscoverRequest()).toMatchObject({ method: 'GET', accept: 40 });
    expect(bootstrapFinishRequest()).toMatchObject({ operation: 'bootstrap-finish', method: 'POST', uriPath: ['bs'], uriQuery: [] });
  });
});
