/** `handle` never throws and always answers a valid CoAP response code, whatever the server sends. */
import fc from 'fast-check';
import { ContentFormat, LwM2mPath, newObjectInstance, newSingleResource } from '@dmp/lwm2m';
import { createDeviceModel } from './model';
import { formats, models } from './test/support';
import type { DeviceRequest, DeviceResponse } from './types';

const NOW = Date.UTC(2025, 0, 1);
/** Every code the model answers with. 5.00 is absent on purpose: it only marks a bug of ours or a full per-UE cap, which short sequences cannot reach. */
const KNOWN_CODES = new Set([0x41, 0x42, 0x44, 0x45, 0x80, 0x84, 0x85, 0x86, 0x8f]);

const segment = fc.oneof(
  fc.constantFrom('0', '1', '3', '4', '5', '6', '19', '2', '9', '13', '14', '65535', '65536', '-1', '', 'x', '01'),
  fc.nat(70000).map(String),
  fc.string({ maxLength: 6 }),
);
const pathArb = fc.oneof(
  fc.constantFrom('/', '', '/3/0', '/3/0/13', '/19', '/19/0/0/0', '/5/0/1', '/1/0/1', '/3/0/4', '/3/0/5', '/1/0/8', '/5/0/2'),
  fc.array(segment, { maxLength: 5 }).map((s) => '/' + s.join('/')),
  fc.string({ maxLength: 20 }),
);
const queryItem = fc.oneof(
  fc.tuple(fc.constantFrom('pmin', 'pmax', 'gt', 'lt', 'st', 'stp', 'epmin', 'ep', ''), fc.oneof(fc.integer().map(String), fc.double().map(String), fc.string({ maxLength: 8 }))).map(([k, v]) => `${k}=${v}`),
  fc.constantFrom('pmin', 'pmax', 'gt', '=', '=='),
  fc.string({ maxLength: 12 }),
);
const formatArb = fc.oneof(
  fc.constantFrom(0, 40, 42, 60, 110, 112, 1542, 1543, 11542, 11543, 11544),
  fc.nat(70000),
  fc.constant(undefined),
);
/** Valid encodings of plausible nodes (so writes / creates get past the decoders) plus random bytes. */
const validPayloads: Uint8Array[] = [
  formats.encode(ContentFormat.TLV, newObjectInstance(0, [newSingleResource(1, 'INTEGER', 120)]), LwM2mPath.parse('/1/0'), models),
  formats.encode(ContentFormat.SENML_JSON, newObjectInstance(0, [newSingleResource(14, 'STRING', '+01:00')]), LwM2mPath.parse('/3/0'), models),
  formats.encode(ContentFormat.TLV, newSingleResource(1, 'STRING', 'coap://x/y.bin'), LwM2mPath.parse('/5/0/1'), models),
  Buffer.from('coap://fw.example/pkg.bin'),
  Buffer.from('600'),
];
const payloadArb = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...validPayloads));

const requestArb: fc.Arbitrary<DeviceRequest> = fc
  .record({
    method: fc.constantFrom(1, 2, 3, 4, 0, 5, 7),
    path: pathArb,
    query: fc.array(queryItem, { maxLength: 4 }),
    accept: formatArb,
    contentFormat: formatArb,
    payload: payloadArb,
    observe: fc.option(fc.constantFrom(0, 1, 2, 16777215), { nil: undefined }),
  })
  .map((r) => {
    const req = { method: r.method, path: r.path, query: r.query, payload: r.payload } as DeviceRequest;
    if (r.accept !== undefined) req.accept = r.accept;
    if (r.contentFormat !== undefined) req.contentFormat = r.contentFormat;
    if (r.observe !== undefined) req.observe = r.observe;
    return req;
  });

function checkResponse(res: DeviceResponse): void {
  expect(KNOWN_CODES.has(res.code)).toBe(true);
  if (res.payload !== undefined) {
    expect(res.payload).toBeInstanceOf(Uint8Array);
    expect(typeof res.contentFormat).toBe('number');
  }
  if (res.code !== 0x45) expect(res.observe === 'start').toBe(false);
}

describe('DeviceModel.handle fuzz', () => {
  it('random requests never throw and answer a valid CoAP response code', () => {
    const model = createDeviceModel({ seed: 5 });
    fc.assert(
      fc.property(fc.nat(1000), requestArb, fc.integer({ min: 0, max: 4_102_444_800_000 }), (index, req, now) => {
        checkResponse(model.handle(index, req, now));
      }),
      { numRuns: 3000 },
    );
  });

  it('random request sequences on one UE stay consistent: other APIs never throw, reset forgets everything', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { minLength: 1, maxLength: 25 }), (reqs) => {
        const model = createDeviceModel({ seed: 9 });
        for (const req of reqs) {
          checkResponse(model.handle(7, req, NOW));
          expect(() => model.registerLinks(7)).not.toThrow();
          const attrs = model.attributes(7, req.path);
          if (attrs.pmin !== undefined && attrs.pmax !== undefined) expect(typeof attrs.pmin).toBe('number');
          expect(model.changeIntervalMs(7, req.path)).toBeGreaterThan(0);
          const ov = model.observeValue(7, req.path, req.accept ?? ContentFormat.TLV, NOW + 1000);
          if (ov) expect(ov.payload).toBeInstanceOf(Uint8Array);
        }
        expect(model.statefulUes()).toBeLessThanOrEqual(1);
        model.reset(7);
        expect(model.statefulUes()).toBe(0);
        expect(model.registerLinks(7)).toBe('</>;rt="oma.lwm2m",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</19/0>');
      }),
      { numRuns: 300 },
    );
  });

  it('malformed request objects are answered, not thrown', () => {
    const model = createDeviceModel({ seed: 1 });
    const junk: unknown[] = [
      null,
      {},
      { method: 1 },
      { method: 1, path: 3 },
      { method: 1, path: '/3/0', query: null, payload: null },
      { method: 3, path: '/3/0/14', query: [42], payload: 'x' },
      { method: 2, path: '/19', query: [], payload: new Uint8Array(70_000).fill(0xc8), contentFormat: 11542 },
    ];
    for (const j of junk) checkResponse(model.handle(0, j as DeviceRequest, NOW));
  });
});
