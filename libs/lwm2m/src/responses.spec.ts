import { createDefaultContentFormatRegistry } from './index';
import { ObjectModelRegistry } from './model/registry';
import { discoverRequest, observeRequest, readRequest, writeRequest, type OperationContext } from './operations';
import { newSingleResource } from './node';
import { coapCodeText, interpretResponse, responseStatus } from './responses';

const models = ObjectModelRegistry.default();
const formats = createDefaultContentFormatRegistry();
const ctx: OperationContext = { models, formats };
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('response-code mapping (spec tables 8-5 … 8-17)', () => {
  it.each([
    [65, '2.01', 'CREATED'],
    [66, '2.02', 'DELETED'],
    [68, '2.04', 'CHANGED'],
    [69, '2.05', 'CONTENT'],
    [128, '4.00', 'BAD_REQUEST'],
    [129, '4.01', 'UNAUTHORIZED'],
    [131, '4.03', 'FORBIDDEN'],
    [132, '4.04', 'NOT_FOUND'],
    [133, '4.05', 'METHOD_NOT_ALLOWED'],
    [134, '4.06', 'NOT_ACCEPTABLE'],
    [141, '4.13', 'REQUEST_ENTITY_TOO_LARGE'],
    [143, '4.15', 'UNSUPPORTED_CONTENT_FORMAT'],
    [160, '5.00', 'INTERNAL_SERVER_ERROR'],
  ])('code %i = %s %s', (n, text, status) => {
    expect(coapCodeText(n)).toBe(text);
    expect(responseStatus(n)).toBe(status);
    expect(responseStatus(text)).toBe(status);
  });

  it('Read 2.05 with TLV payload → success with decoded node', () => {
    const req = readRequest(ctx, '/3/0/9');
    const out = interpretResponse(req, { code: '2.05', contentFormat: 11542, payload: hex('C1 09 57') }, { models, formats });
    expect(out).toMatchObject({ kind: 'success', status: 'CONTENT', node: { kind: 'singleResource', id: 9, type: 'INTEGER', value: 87 } });
  });
  it('Observe 2.05 notes whether the Observe option came back', () => {
    const req = observeRequest(ctx, '/3/0/9');
    expect(interpretResponse(req, { code: 69, observe: 2, contentFormat: 0, payload: hex('3837') }, { models, formats })).toMatchObject({ kind: 'success', observe: true });
  });
  it('Discover 2.05 → links', () => {
    const out = interpretResponse(discoverRequest(ctx, '/3'), { code: 69, contentFormat: 40, payload: new TextEncoder().encode('</3>,</3/0/1>') }, { models, formats });
    expect(out.kind === 'success' && out.links?.map((l) => l.uri)).toEqual(['/3', '/3/0/1']);
  });
  it('failures, unexpected codes and bad payloads are typed outcomes', () => {
    const req = writeRequest(ctx, '/1/0/1', newSingleResource(1, 'INTEGER', 5));
    expect(interpretResponse(req, { code: '2.04' }, { models, formats })).toEqual({ kind: 'success', code: '2.04', status: 'CHANGED' });
    expect(interpretResponse(req, { code: '4.05' }, { models, formats })).toEqual({ kind: 'failure', code: '4.05', status: 'METHOD_NOT_ALLOWED' });
    expect(interpretResponse(req, { code: '2.05' }, { models, formats })).toEqual({ kind: 'unexpected', code: '2.05', status: 'CONTENT' });
    const bad = interpretResponse(readRequest(ctx, '/3/0'), { code: 69, contentFormat: 11542, payload: hex('C8') }, { models, formats });
    expect(bad.kind).toBe('invalid-payload');
    const unsupported = interpretResponse(readRequest(ctx, '/3/0'), { code: 69, contentFormat: 9999, payload: hex('00') }, { models, formats });
    expect(unsupported.kind === 'invalid-payload' && unsupported.error.reason).toBe('UNSUPPORTED_FORMAT');
  });
});
