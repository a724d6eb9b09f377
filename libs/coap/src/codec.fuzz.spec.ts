/**
 * Fuzzing: decode() must never throw anything but CoapParseError, never hang, never allocate
 * more than the datagram, and every accepted datagram must re-encode byte for byte.
 * Bounded to a few seconds in CI.
 */
import fc from 'fast-check';
import { CoapParseError } from './errors';
import { CoapMessage } from './message';
import { decode, encode } from './codec';
import { replyForParseError } from './build';
import { validMessage } from './testing/arbitraries';

function touchAll(m: CoapMessage): void {
  // Every getter must be total on an accepted message.
  void [m.token, m.payload, m.options, m.uriPath, m.uriPathString, m.uriQuery, m.locationPath, m.locationQuery];
  void [m.uriHost, m.uriPort, m.contentFormat, m.accept, m.observe, m.maxAge, m.size1, m.size2, m.block1, m.block2];
  void [m.etags, m.ifMatch, m.ifNoneMatch, m.typeName, m.codeText, m.isEmpty, m.isRequest, m.isResponse];
}

/** decode + invariants; returns true if accepted. */
function check(bytes: Uint8Array): boolean {
  let m: CoapMessage;
  try {
    m = decode(bytes);
  } catch (e) {
    if (!(e instanceof CoapParseError)) throw e;
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(bytes.length);
    const reply = replyForParseError(e, { nonMid: 1 });
    if (reply !== undefined) expect(reply.length).toBeLessThan(200);
    return false;
  }
  touchAll(m);
  expect(m.payload.length).toBeLessThanOrEqual(bytes.length);
  expect(m.optionCount).toBeLessThanOrEqual(bytes.length);
  const again = encode(m.toInit());
  expect(Buffer.compare(again, Buffer.from(bytes))).toBe(0);
  return true;
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number };

const special = fc.constantFrom(0x00, 0x0d, 0x0e, 0x0f, 0xd0, 0xdd, 0xe0, 0xee, 0xf0, 0xff, 0x40, 0x48, 0x4f, 0x60, 0x70);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(special, fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.oneof(special, fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(src: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

describe('decode fuzz', () => {
  const deadline = (ms: number) => ({ interruptAfterTimeLimit: ms, markInterruptAsFailure: false });

  it('random bytes: only CoapParseError, round-trip when accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => void check(b)),
      { numRuns: 60_000, ...deadline(2000) },
    );
  });

  it('random bytes with a valid version nibble: only CoapParseError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.uint8Array({ maxLength: 300 }), (h, rest) => {
        const b = new Uint8Array(rest.length + 1);
        b[0] = 0x40 | h;
        b.set(rest, 1);
        check(b);
      }),
      { numRuns: 40_000, ...deadline(2000) },
    );
  });

  it('mutated valid messages: only CoapParseError, round-trip when accepted', () => {
    fc.assert(
      fc.property(validMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, muts) => void check(mutate(encode(m), muts))),
      { numRuns: 30_000, ...deadline(3000) },
    );
  });

  it('exhaustive first two bytes (version/type/TKL × code) over a fixed tail', () => {
    const tail = Buffer.from('1234aabbccdd11b16161ff7a', 'hex');
    const b = Buffer.alloc(tail.length + 2);
    tail.copy(b, 2);
    let accepted = 0;
    for (let b0 = 0; b0 < 256; b0++) {
      for (let b1 = 0; b1 < 256; b1++) {
        b[0] = b0;
        b[1] = b1;
        try {
          decode(b);
          accepted++;
        } catch (e) {
          if (!(e instanceof CoapParseError)) throw e;
        }
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('large datagram (64 KiB of option headers) is handled linearly', () => {
    // 65 000 zero-length elective options with delta 0 (number 0), then a payload.
    const b = Buffer.alloc(4 + 65_000 + 2);
    b[0] = 0x50;
    b[1] = 0x01;
    b[4 + 65_000] = 0xff;
    b[4 + 65_001] = 0x61;
    const t0 = Date.now();
    const m = decode(b);
    expect(m.optionCount).toBe(65_000);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
