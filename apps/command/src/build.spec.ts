import { createDefaultContentFormatRegistry, decodeTlv, LwM2mPath, ObjectModelRegistry } from '@dmp/lwm2m';
import { DeviceCommand } from '@dmp/contracts';
import { BadOperation, buildRequest, commandOf, OperationBody } from './build';

const ctx = (lwm2mVersion = '1.0') => ({ models: ObjectModelRegistry.default(), formats: createDefaultContentFormatRegistry(), lwm2mVersion });
const build = (body: Record<string, unknown>, v?: string) => buildRequest(OperationBody.parse(body), ctx(v));

describe('OperationBody + buildRequest', () => {
  it('read: Accept negotiated from the LwM2M version, or the asked format', () => {
    expect(build({ op: 'read', path: '/3/0' })).toMatchObject({ method: 'GET', uriPath: ['3', '0'], accept: 11542 });
    expect(build({ op: 'read', path: '/3/0' }, '1.1')).toMatchObject({ accept: 112 });
    expect(build({ op: 'read', path: '/3/0', format: 'senml-json' })).toMatchObject({ accept: 110 });
  });

  it('write: JSON typed by the model, TLV payload decodes back', () => {
    const r = build({ op: 'write', path: '/3/0/14', value: '+02:00', format: 'tlv' });
    expect(r).toMatchObject({ method: 'PUT', contentFormat: 11542 });
    const node = decodeTlv(r.payload!, LwM2mPath.parse('/3/0/14'), ObjectModelRegistry.default());
    expect(node).toMatchObject({ kind: 'singleResource', id: 14, value: '+02:00' });
    const partial = build({ op: 'write-partial', path: '/1/0', value: { '1': 120, '7': 'U' } });
    expect(partial).toMatchObject({ method: 'POST', uriPath: ['1', '0'] });
  });

  it('execute, observe, cancel-observe, discover, delete, create, write-attributes', () => {
    expect(build({ op: 'execute', path: '/1/0/8' })).toMatchObject({ method: 'POST', uriPath: ['1', '0', '8'] });
    expect(build({ op: 'observe', path: '/3/0/13' })).toMatchObject({ method: 'GET', observe: 0 });
    expect(build({ op: 'cancel-observe', path: '/3/0/13', token: 'aabb' })).toMatchObject({ observe: 1 });
    expect(build({ op: 'discover', path: '/3' })).toMatchObject({ accept: 40 });
    expect(build({ op: 'delete', path: '/3303/1' })).toMatchObject({ method: 'DELETE' });
    expect(build({ op: 'create', path: '/3303', value: { '5700': 21.5 } })).toMatchObject({ method: 'POST', uriPath: ['3303'] });
    expect(build({ op: 'write-attributes', path: '/3/0/13', attributes: { pmin: 10, pmax: 60 } }).uriQuery).toEqual(['pmin=10', 'pmax=60']);
  });

  it.each([
    [{ op: 'write', path: '/3/0/0', value: 'x' }, /NOT_WRITABLE/],
    [{ op: 'execute', path: '/3/0/0' }, /NOT_EXECUTABLE/],
    [{ op: 'read', path: '/3/0/4' }, /NOT_READABLE/],
    [{ op: 'write', path: '/3/0/14', value: 5 }, /expected a string/],
    [{ op: 'write', path: '/1/0/1', value: 1.5 }, /integer/],
    [{ op: 'write', path: '/3/0/999', value: 1 }, /not in the model/],
    [{ op: 'write', path: '/30000/0/1', value: 1 }, /no model/],
    [{ op: 'read', path: '/99999/0' }, /0..65535/],
    [{ op: 'write-partial', path: '/3/0/14', value: 'x' }, /object instance/],
    [{ op: 'delete', path: '/3/0/1' }, /INVALID_PATH/],
    [{ op: 'write-attributes', path: '/3/0/0', attributes: { gt: 1 } }, /numeric/],
    [{ op: 'write-attributes', path: '/3/0/13', attributes: { pmin: 60, pmax: 10 } }, /pmax/],
  ])('refuses %j', (body, reason) => {
    expect(() => build(body)).toThrow(BadOperation);
    expect(() => build(body)).toThrow(reason);
  });

  it('the zod schema refuses malformed bodies', () => {
    for (const body of [
      { op: 'nope', path: '/3/0' },
      { op: 'read', path: '/3/0/1/2/3' },
      { op: 'read', path: '/3/0', value: 1 },
      { op: 'write', path: '/3/0/14' },
      { op: 'write-attributes', path: '/3/0/13' },
      { op: 'read', path: '/3/0', args: 'x' },
      { op: 'read', path: '/3/0', timeoutMs: 5 },
      { op: 'read', path: '/3/0', format: 'xml' },
    ]) {
      expect(OperationBody.safeParse(body).success).toBe(false);
    }
  });

  it.each([
    { op: 'read', path: '/3/0/0', format: 'text' },
    { op: 'read', path: '/3/0' },
    { op: 'write', path: '/3/0/14', value: '+02:00', format: 'tlv' },
    { op: 'write-partial', path: '/1/0', value: { '1': 120 }, format: 'senml-cbor' },
    { op: 'execute', path: '/1/0/8', args: "0='v'" },
    { op: 'observe', path: '/3/0/13' },
    { op: 'cancel-observe', path: '/3/0/13', token: 'aabb' },
    { op: 'discover', path: '/3' },
    { op: 'delete', path: '/3303/1' },
    { op: 'create', path: '/3303', value: { '5700': 21.5 }, format: 'tlv' },
    { op: 'write-attributes', path: '/3/0/13', attributes: { pmin: 10 } },
  ])('commandOf($op $path) satisfies the DeviceCommand contract unchanged (it is published without re-validation)', (b) => {
    const body = OperationBody.parse({ ...b, queue: true });
    const cmd = commandOf(
      { id: '0b9d2c3e-1111-4222-8333-944455556666', epi: '861234567890123', now: 1_700_000_000_000, body, token: body.token, expiresAt: 1_700_000_060_000 },
      buildRequest(body, ctx('1.1')),
    );
    expect(DeviceCommand.parse(cmd)).toEqual(cmd);
  });
});
