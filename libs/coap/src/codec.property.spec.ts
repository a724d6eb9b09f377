import fc from 'fast-check';
import { decode, encode, encodeInto, encodedLength } from './codec';
import { normalizeOptions, plain, validMessage } from './testing/arbitraries';

describe('codec properties (fast-check)', () => {
  it('decode(encode(m)) equals m for arbitrary valid messages', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        const d = decode(encode(m));
        expect(plain(d.toInit())).toEqual(plain(m));
        expect(plain(d)).toEqual(plain(m));
      }),
      { numRuns: 3000 },
    );
  });

  it('encode(decode(x)) is byte-identical for every accepted datagram', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        const bytes = encode(m);
        expect(encode(decode(bytes).toInit()).equals(bytes)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('encode sorts options stably, so order of input among equal numbers is kept', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        const shuffled = m.options.slice().reverse();
        // reversing breaks order among repeated options; re-normalising must restore wire order
        const d = decode(encode({ ...m, options: shuffled }));
        expect(plain(d).options).toEqual(plain({ ...m, options: normalizeOptions(shuffled) }).options);
      }),
      { numRuns: 500 },
    );
  });

  it('encodedLength and encodeInto agree with encode', () => {
    const out = new Uint8Array(70000);
    fc.assert(
      fc.property(validMessage, fc.integer({ min: 0, max: 100 }), (m, off) => {
        const b = encode(m);
        expect(encodedLength(m)).toBe(b.length);
        const n = encodeInto(m, out, off);
        expect(n).toBe(b.length);
        expect(Buffer.from(out.subarray(off, off + n)).equals(b)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
