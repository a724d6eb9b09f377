/**
 * Fuzz: random bytes and mutated valid payloads never make the record-format decoders
 * throw anything but Lwm2mCodecError. Time-bounded (≈0.4 s per property).
 */
import fc from 'fast-check';
import { Lwm2mCodecError } from '../../errors';
import { ObjectModelRegistry } from '../../model/registry';
import { EMPTY_MODELS } from '../../model/types';
import { LwM2mPath } from '../../path';
import { lwm2mCborCodec } from '../lwm2m-cbor';
import { lwm2mJsonCodec } from '../lwm2m-json';
import { senmlCborCodec, senmlJsonCodec } from './index';
import { nodeAtPathArb, TEST_OBJECT_MODEL } from '../../test/senml-test-models';

const models = ObjectModelRegistry.withDefaults([TEST_OBJECT_MODEL]);
const budget = { interruptAfterTimeLimit: 400, numRuns: 1_000_000, markInterruptAsFailure: false };
const PATHS = ['/3', '/3/0', '/3/0/7', '/9999/0', '/9999/0/12/1'].map((p) => LwM2mPath.parse(p));

function onlyCodecErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Lwm2mCodecError)) throw e;
  }
}

const CODECS = [senmlJsonCodec, senmlCborCodec, lwm2mJsonCodec, lwm2mCborCodec] as const;

function mutate(bytes: Uint8Array, ops: readonly [number, number, number][]): Uint8Array {
  const out = Array.from(bytes);
  for (const [op, pos, val] of ops) {
    const i = out.length === 0 ? 0 : pos % out.length;
    if (op === 0) out[i] = val;
    else if (op === 1) out.splice(i, 0, val);
    else if (op === 2) out.splice(i, 1);
    else out.splice(i, 0, ...out.slice(i, i + 6));
  }
  return new Uint8Array(out);
}

describe.each(CODECS.map((c) => [c.name, c] as const))('%s fuzz', (_name, codec) => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...PATHS), fc.boolean(), (b, p, strict) => {
        onlyCodecErrors(() => codec.decode(b, p, strict ? models : EMPTY_MODELS, { strict }));
      }),
      budget,
    );
  });

  it('random JSON-ish / CBOR-ish text', () => {
    const unit = fc.constantFrom(...'[]{}":,0123456789-.eE/ntbvsdlo_'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 120 }), fc.constantFrom(...PATHS), (s, p) => {
        onlyCodecErrors(() => codec.decode(new TextEncoder().encode(s), p, models));
      }),
      budget,
    );
  });

  it('mutated valid payloads (decode, decodeNodes, decodeTimestamped)', () => {
    const o = { json: codec.name.includes('json'), cbor: codec.name.includes('cbor') };
    fc.assert(
      fc.property(
        nodeAtPathArb(o),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        ({ node, path }, ops) => {
          const bytes = mutate(codec.encode(node, path, models), ops);
          onlyCodecErrors(() => codec.decode(bytes, path, models));
          const multi = codec as Partial<typeof senmlJsonCodec>;
          if (multi.decodeNodes) onlyCodecErrors(() => multi.decodeNodes!(bytes, undefined, models));
          if (multi.decodeTimestamped) onlyCodecErrors(() => multi.decodeTimestamped!(bytes, path, models));
        },
      ),
      budget,
    );
  });

  it('huge and deeply nested inputs are refused quickly', () => {
    const t0 = performance.now();
    const deepJson = new TextEncoder().encode('['.repeat(100_000) + ']'.repeat(100_000));
    const deepCbor = new Uint8Array(100_001).fill(0x81);
    deepCbor[100_000] = 0x80;
    const big = new Uint8Array(2 * 1024 * 1024);
    for (const b of [deepJson, deepCbor, big]) onlyCodecErrors(() => codec.decode(b, PATHS[1]!, models));
    expect(() => codec.decode(big, PATHS[1]!, models)).toThrow(Lwm2mCodecError);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
