/**
 * Block-wise transfers (RFC 7959): slicing a payload into blocks and reassembling received
 * blocks (Block1 on a server, Block2 on a client).
 */
import { CoapCode } from './constants';
import { BlockValue, MAX_BLOCK_NUM, szxToSize } from './options';

export interface BlockSlice {
  block: BlockValue;
  data: Uint8Array;
}

/**
 * Block `num` of `payload` with block size 2^(szx+4) (a view), or undefined when `num` is past
 * the end (RFC 7959 §2.2; a server answers such a Block2 request with 4.02 Bad Option, and an
 * empty payload yields one empty block 0).
 */
export function sliceBlock(payload: Uint8Array, num: number, szx: number): BlockSlice | undefined {
  if (!Number.isInteger(szx) || szx < 0 || szx > 6) throw new RangeError(`SZX must be 0..6, got ${szx}`);
  if (!Number.isInteger(num) || num < 0 || num > MAX_BLOCK_NUM) return undefined;
  const size = szxToSize(szx);
  const start = num * size;
  if (start > payload.length || (start === payload.length && num > 0)) return undefined;
  const end = Math.min(start + size, payload.length);
  return { block: { num, more: end < payload.length, szx }, data: payload.subarray(start, end) };
}

/** All blocks of `payload` (at least one). */
export function sliceBlocks(payload: Uint8Array, szx: number): BlockSlice[] {
  const out: BlockSlice[] = [];
  for (let num = 0; ; num++) {
    const s = sliceBlock(payload, num, szx);
    if (s === undefined) break;
    out.push(s);
    if (!s.block.more) break;
  }
  return out;
}

export type BlockAddResult =
  /** Stored; ask for / wait for block `nextNum` (with `szx`). For Block1 answer 2.31 Continue. */
  | { status: 'continue'; nextNum: number; szx: number }
  /** A retransmitted block already stored; nothing changed. */
  | { status: 'duplicate' }
  /** Last block received: the whole body. */
  | { status: 'complete'; payload: Buffer }
  /** Gap, overlap or out-of-order block (RFC 7959 §2.9.2): answer 4.08; the transfer is reset. */
  | { status: 'incomplete'; code: typeof CoapCode.REQUEST_ENTITY_INCOMPLETE }
  /** Body would exceed `maxSize` (RFC 7959 §2.9.3): answer 4.13 with Size1 = `size1`; the transfer is reset. */
  | { status: 'too-large'; code: typeof CoapCode.REQUEST_ENTITY_TOO_LARGE; size1: number };

export interface BlockAssemblerOptions {
  /** Largest body accepted, in bytes (default 64 KiB). */
  maxSize?: number;
}

/**
 * Reassembles one block-wise body. Blocks must arrive in order; the block size may shrink
 * during the transfer (RFC 7959 §2.3), checked by byte offset: NUM * 2^(SZX+4) must equal the
 * number of bytes received so far, and every block with M=1 must be exactly one block long.
 */
export class BlockAssembler {
  private readonly maxSize: number;
  private chunks: Uint8Array[] = [];
  private received = 0;

  constructor(opts: BlockAssemblerOptions = {}) {
    this.maxSize = opts.maxSize ?? 64 * 1024;
  }

  /** Bytes received so far. */
  get size(): number {
    return this.received;
  }

  reset(): void {
    this.chunks = [];
    this.received = 0;
  }

  /**
   * Adds one block. `sizeHint` is the Size1 (Block1) / Size2 (Block2) option if present: a body
   * announced larger than `maxSize` is refused at once.
   */
  add(block: BlockValue, data: Uint8Array, sizeHint?: number): BlockAddResult {
    if (block.szx > 6 || block.szx < 0) return this.incomplete();
    const size = szxToSize(block.szx);
    const offset = block.num * size;
    if (sizeHint !== undefined && sizeHint > this.maxSize) return this.tooLarge();
    if (block.more ? data.length !== size : data.length > size) return this.incomplete();
    if (offset < this.received) {
      if (offset + data.length <= this.received && this.sameAsStored(offset, data)) return { status: 'duplicate' };
      return this.incomplete();
    }
    if (offset > this.received) return this.incomplete();
    if (this.received + data.length > this.maxSize) return this.tooLarge();
    this.chunks.push(new Uint8Array(data)); // copy: the datagram buffer may be reused
    this.received += data.length;
    if (block.more) return { status: 'continue', nextNum: block.num + 1, szx: block.szx };
    const payload = Buffer.concat(this.chunks, this.received);
    this.reset();
    return { status: 'complete', payload };
  }

  private sameAsStored(offset: number, data: Uint8Array): boolean {
    let base = 0;
    let j = 0;
    for (const c of this.chunks) {
      while (j < data.length && offset + j >= base && offset + j < base + c.length) {
        if (c[offset + j - base] !== data[j]) return false;
        j++;
      }
      base += c.length;
      if (j >= data.length) break;
    }
    return j === data.length;
  }

  private incomplete(): BlockAddResult {
    this.reset();
    return { status: 'incomplete', code: CoapCode.REQUEST_ENTITY_INCOMPLETE };
  }

  private tooLarge(): BlockAddResult {
    this.reset();
    return { status: 'too-large', code: CoapCode.REQUEST_ENTITY_TOO_LARGE, size1: this.maxSize };
  }
}
