import { ObjectModelRegistry } from '@dmp/lwm2m';
import { checkValue, formatReason, parseRange } from './validate';

const models = ObjectModelRegistry.default();
const T = 1_700_000_000_000;
const limits = { maxFutureMs: 3600_000, maxPastMs: 30 * 86400_000 };
const codes = (v: Parameters<typeof checkValue>[1]) => checkValue(models, v, T, limits).map((f) => f.code);

describe('parseRange (DDF RangeEnumeration)', () => {
  it.each([
    ['0..100', { kind: 'numeric', min: 0, max: 100 }],
    ['-40 .. 85.5', { kind: 'numeric', min: -40, max: 85.5 }],
    ['0..255 bytes', { kind: 'length', min: 0, max: 255 }],
    ['32 bytes', { kind: 'length', min: 32, max: 32 }],
    ['', undefined],
    ['The possible values are those listed in the LwM2M Core Specification', undefined],
    ['9..1', undefined],
  ])('%s', (text, want) => expect(parseRange(text)).toEqual(want));
  it('enumerations', () => {
    expect(parseRange('16,32,48')).toEqual({ kind: 'enumeration', values: new Set([16, 32, 48]) });
    expect(parseRange('6')).toEqual({ kind: 'enumeration', values: new Set([6]) });
  });
});

describe('checkValue (R-OPS-3)', () => {
  it('accepts values that fit the model', () => {
    expect(codes({ path: '/3/0/0', type: 'string', value: 'ACME' })).toEqual([]);
    expect(codes({ path: '/3/0/9', type: 'integer', value: 87 })).toEqual([]); // battery 0..100
    expect(codes({ path: '/3/0/13', type: 'time', value: 1_700_000_000 })).toEqual([]);
    expect(codes({ path: '/3303/0/5700', type: 'float', value: 21.5 })).toEqual([]);
    expect(codes({ path: '/3303/0/5700', type: 'integer', value: 21 })).toEqual([]); // numbers widen to float
    expect(codes({ path: '/3/0/7/0', type: 'integer', value: 3800 })).toEqual([]);
    expect(codes({ path: '/3/0/9', type: 'integer', value: 50, ts: T - 1000 })).toEqual([]);
  });

  it('flags a type mismatch (model vs reported type, and malformed values)', () => {
    expect(codes({ path: '/3/0/9', type: 'string', value: 'full' })).toEqual(['type-mismatch']);
    expect(codes({ path: '/3/0/9', type: 'integer', value: 1.5 })).toEqual(['type-mismatch']);
    expect(codes({ path: '/3303/0/5700', type: 'boolean', value: true })).toEqual(['type-mismatch']);
    expect(codes({ path: '/3/0/0', type: 'opaque', value: '!!' })).toEqual(['type-mismatch']);
    expect(codes({ path: '/3/0/9', type: 'unsigned', value: -1 })).toEqual(['type-mismatch']);
  });

  it('flags out-of-range values (numeric range, enumeration, length)', () => {
    expect(codes({ path: '/3/0/9', type: 'integer', value: 150 })).toEqual(['out-of-range']);
    expect(codes({ path: '/3/0/9', type: 'integer', value: -1 })).toEqual(['out-of-range']);
    const f = checkValue(models, { path: '/3/0/9', type: 'integer', value: 150 }, T, limits);
    expect(formatReason(f)).toBe('out-of-range: 150 not in 0..100');
  });

  it('flags unknown objects and resources and non-resource paths', () => {
    expect(codes({ path: '/3/0/999', type: 'integer', value: 1 })).toEqual(['unknown-resource']);
    expect(codes({ path: '/32769/0/1', type: 'integer', value: 1 })).toEqual(['unknown-object']);
    expect(codes({ path: '/3/0', type: 'integer', value: 1 })).toEqual(['not-a-resource']);
  });

  it('flags far-future and far-past times relative to the reception time', () => {
    expect(codes({ path: '/3/0/9', type: 'integer', value: 50, ts: T + 3600_001 })).toEqual(['far-future-timestamp']);
    expect(codes({ path: '/3/0/9', type: 'integer', value: 50, ts: T + 3600_000 })).toEqual([]);
    expect(codes({ path: '/3/0/9', type: 'integer', value: 50, ts: 0 })).toEqual(['far-past-timestamp']);
    expect(codes({ path: '/3/0/9', type: 'integer', value: 500, ts: 9e15 })).toEqual(['far-future-timestamp', 'out-of-range']);
  });
});
