/**
 * fast-check properties for the four record formats: decode(encode(node)) = node,
 * encoding is canonical (re-encoding the decoded node gives the same bytes), and time
 * series survive encodeTimestamped → decodeTimestamped.
 */
import fc from 'fast-check';
import type { TimestampedNodeCodec, NodeCodec } from '../../content-format';
import { ObjectModelRegistry } from '../../model/registry';
import { nodesEqual, type LwM2mNode } from '../../node';
import { LwM2mPath } from '../../path';
import { lwm2mCborCodec } from '../lwm2m-cbor';
import { lwm2mJsonCodec } from '../lwm2m-json';
import { senmlCborCodec, senmlJsonCodec } from './index';
import { instanceArb, nodeAtPathArb, TEST_OBJECT_ID, TEST_OBJECT_MODEL, type ArbOptions } from '../../test/senml-test-models';

const models = ObjectModelRegistry.withDefaults([TEST_OBJECT_MODEL]);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const CODECS: [NodeCodec, ArbOptions][] = [
  [senmlJsonCodec, { json: true, cbor: false }],
  [senmlCborCodec, { json: false, cbor: true }],
  [lwm2mJsonCodec, { json: true, cbor: false }],
  [lwm2mCborCodec, { json: false, cbor: true }],
];

describe.each(CODECS.map(([c, o]) => [c.name, c, o] as const))('%s round trip', (_name, codec, o) => {
  it('decode(encode(node)) = node, and the encoding is canonical', () => {
    fc.assert(
      fc.property(nodeAtPathArb(o), ({ node, path }) => {
        const bytes = codec.encode(node, path, models);
        const back = codec.decode(bytes, path, models);
        if (!nodesEqual(back, node)) throw new Error(`mismatch at ${path.toString()}: ${hex(bytes)}`);
        expect(hex(codec.encode(back, path, models))).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

const TIMESTAMPED: [TimestampedNodeCodec, ArbOptions][] = [
  [senmlJsonCodec, { json: true, cbor: false }],
  [senmlCborCodec, { json: false, cbor: true }],
  [lwm2mJsonCodec, { json: true, cbor: false }],
];

describe.each(TIMESTAMPED.map(([c, o]) => [c.name, c, o] as const))('%s time series', (_name, codec, o) => {
  it('decodeTimestamped(encodeTimestamped(series)) = series', () => {
    const path = LwM2mPath.of(TEST_OBJECT_ID, 0);
    const series = fc
      .tuple(
        fc.boolean(),
        fc.uniqueArray(fc.integer({ min: 2 ** 28, max: 2 ** 33 }), { minLength: 1, maxLength: 4 }),
      )
      .chain(([untimedFirst, times]) =>
        fc.tuple(...times.map(() => instanceArb(0, o))).map((nodes) =>
          nodes.map((node, i) => ({ timestamp: untimedFirst && i === 0 ? undefined : times[i], node: node as LwM2mNode })),
        ),
      );
    fc.assert(
      fc.property(series, (s) => {
        const back = codec.decodeTimestamped(codec.encodeTimestamped(s, path, models), path, models);
        expect(back.map((b) => b.timestamp)).toEqual(s.map((x) => x.timestamp));
        back.forEach((b, i) => expect(nodesEqual(b.node, s[i]!.node)).toBe(true));
      }),
      { numRuns: 150 },
    );
  });
});
