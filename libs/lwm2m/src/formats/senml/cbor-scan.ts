/**
 * A well-formedness pre-pass over CBOR (RFC 8949) run before handing bytes to cbor-x:
 * bounded nesting, bounded item count, declared lengths within the input, only the
 * tags a format allows (cbor-x would otherwise honour its own extension tags), no
 * unassigned simple values, no trailing bytes. Iterative (no recursion); O(n).
 */
import { Lwm2mCodecError } from '../../errors';

export interface CborScanLimits {
  maxDepth: number;
  maxItems: number;
  /** Tags allowed anywhere (e.g. [1] for epoch-time in LwM2M CBOR). */
  allowedTags?: readonly number[];
}

const TWO_32 = 4294967296;

export function scanCbor(b: Uint8Array, limits: CborScanLimits): void {
  const n = b.length;
  if (n === 0) throw new Lwm2mCodecError('TRUNCATED', 'empty CBOR payload');
  // remaining[i]: items left in container i (-1 = indefinite); chunk[i]: string major for indefinite strings (else -1)
  const remaining: number[] = [];
  const chunk: number[] = [];
  const mapIndef: number[] = []; // item count inside indefinite maps (parity check)
  let off = 0;
  let items = 0;
  let finished = false;

  const completed = (): void => {
    for (;;) {
      const top = remaining.length - 1;
      if (top < 0) {
        finished = true;
        return;
      }
      const r = remaining[top] as number;
      if (r === -1) {
        mapIndef[top] = (mapIndef[top] as number) + 1;
        return;
      }
      if (r > 1) {
        remaining[top] = r - 1;
        return;
      }
      remaining.pop();
      chunk.pop();
      mapIndef.pop();
    }
  };
  const push = (count: number, chunkMajor: number, isMap: boolean): void => {
    if (remaining.length >= limits.maxDepth) throw new Lwm2mCodecError('NESTING_TOO_DEEP', `CBOR nesting deeper than ${limits.maxDepth}`, off);
    remaining.push(count);
    chunk.push(chunkMajor);
    mapIndef.push(isMap && count === -1 ? 0 : -1);
  };
  const need = (k: number, at: number): void => {
    if (off + k > n) throw new Lwm2mCodecError('TRUNCATED', 'CBOR data ends early', at);
  };

  while (!finished) {
    const at = off;
    need(1, at);
    const ib = b[off++] as number;
    const major = ib >>> 5;
    const ai = ib & 31;
    const top = remaining.length - 1;
    if (ib === 0xff) {
      if (top < 0 || remaining[top] !== -1) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'unexpected CBOR break', at);
      const m = mapIndef[top] as number;
      if (m >= 0 && m % 2 === 1) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'indefinite map with a key but no value', at);
      remaining.pop();
      chunk.pop();
      mapIndef.pop();
      completed();
      continue;
    }
    if (++items > limits.maxItems) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `more than ${limits.maxItems} CBOR items`, at);
    if (top >= 0 && (chunk[top] as number) >= 0 && (major !== chunk[top] || ai === 31)) {
      throw new Lwm2mCodecError('INVALID_STRUCTURE', 'bad chunk inside an indefinite-length string', at);
    }
    let arg = 0;
    if (ai < 24) arg = ai;
    else if (ai === 24) {
      need(1, at);
      arg = b[off] as number;
      off += 1;
    } else if (ai === 25) {
      need(2, at);
      arg = ((b[off] as number) << 8) | (b[off + 1] as number);
      off += 2;
    } else if (ai === 26) {
      need(4, at);
      arg = (((b[off] as number) << 24) | ((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number)) >>> 0;
      off += 4;
    } else if (ai === 27) {
      need(8, at);
      const hi = (((b[off] as number) << 24) | ((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number)) >>> 0;
      const lo = (((b[off + 4] as number) << 24) | ((b[off + 5] as number) << 16) | ((b[off + 6] as number) << 8) | (b[off + 7] as number)) >>> 0;
      arg = hi * TWO_32 + lo;
      off += 8;
    } else if (ai === 31) {
      if (major < 2 || major > 5) throw new Lwm2mCodecError('INVALID_STRUCTURE', `indefinite length not allowed for major type ${major}`, at);
      arg = -1;
    } else {
      throw new Lwm2mCodecError('INVALID_STRUCTURE', `reserved additional information ${ai}`, at);
    }
    switch (major) {
      case 0:
      case 1:
        completed();
        break;
      case 2:
      case 3:
        if (arg === -1) {
          push(-1, major, false);
        } else {
          if (arg > n - off) throw new Lwm2mCodecError('LENGTH_OVERFLOW', `string of ${arg} bytes, ${n - off} left`, at);
          off += arg;
          completed();
        }
        break;
      case 4:
      case 5: {
        if (arg === 0) {
          completed();
          break;
        }
        const count = arg === -1 ? -1 : major === 5 ? arg * 2 : arg;
        if (count > n - off) throw new Lwm2mCodecError('LENGTH_OVERFLOW', `container of ${count} items, ${n - off} bytes left`, at);
        push(count, -1, major === 5);
        break;
      }
      case 6:
        if (!(limits.allowedTags ?? []).includes(arg)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `CBOR tag ${arg} not allowed here`, at);
        push(1, -1, false);
        break;
      default:
        // major 7: false, true, null, undefined, floats; 1-byte simple values ≥ 32 and unassigned ones refused
        if (ai < 20 || ai === 24) throw new Lwm2mCodecError('INVALID_STRUCTURE', `unsupported CBOR simple value`, at);
        completed();
    }
  }
  if (off !== n) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${n - off} bytes after the CBOR item`, off);
}
