import { LwM2mPathError } from './errors';

/** Largest object / instance / resource / resource-instance id (16-bit). */
export const MAX_ID = 65535;

/** Level of a path: 0 root, 1 object, 2 object instance, 3 resource, 4 resource instance. */
export type LwM2mPathDepth = 0 | 1 | 2 | 3 | 4;

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new LwM2mPathError('ID_OUT_OF_RANGE', `${what} id ${String(id)} is not an integer in 0..${MAX_ID}`);
  }
}

const NAMES = ['object', 'object instance', 'resource', 'resource instance'] as const;

/**
 * An LwM2M node path: `/`, `/3`, `/3/0`, `/3/0/1`, `/3/0/11/2`. Immutable.
 * Ids are integers 0..65535. Create with {@link LwM2mPath.parse} or {@link LwM2mPath.of}.
 */
export class LwM2mPath {
  static readonly ROOT = new LwM2mPath([]);

  readonly objectId: number | undefined;
  readonly objectInstanceId: number | undefined;
  readonly resourceId: number | undefined;
  readonly resourceInstanceId: number | undefined;
  /** 0 root .. 4 resource instance. */
  readonly depth: LwM2mPathDepth;
  private readonly ids: readonly number[];
  private text: string | undefined;

  private constructor(ids: readonly number[]) {
    this.ids = ids;
    this.depth = ids.length as LwM2mPathDepth;
    this.objectId = ids[0];
    this.objectInstanceId = ids[1];
    this.resourceId = ids[2];
    this.resourceInstanceId = ids[3];
  }

  /** Path from ids (0 to 4 of them). Throws {@link LwM2mPathError}. */
  static of(...ids: number[]): LwM2mPath {
    if (ids.length > 4) throw new LwM2mPathError('TOO_DEEP', `path has ${ids.length} ids, at most 4 allowed`);
    if (ids.length === 0) return LwM2mPath.ROOT;
    ids.forEach((id, i) => checkId(id, NAMES[i] ?? 'path'));
    return new LwM2mPath(Object.freeze(ids.slice()));
  }

  /**
   * Parse `/3/0/1` (leading slash optional, trailing slash tolerated, `/` and `` = root).
   * Ids must be decimal without sign or leading zeros (except `0`).
   */
  static parse(text: string): LwM2mPath {
    if (typeof text !== 'string') throw new LwM2mPathError('SYNTAX', 'path is not a string');
    let s = text.trim();
    if (s === '' || s === '/') return LwM2mPath.ROOT;
    if (s.startsWith('/')) s = s.slice(1);
    if (s.endsWith('/')) s = s.slice(0, -1);
    const parts = s.split('/');
    if (parts.length > 4) throw new LwM2mPathError('TOO_DEEP', `path "${text}" has more than 4 segments`);
    const ids: number[] = [];
    for (const p of parts) {
      if (!/^(0|[1-9][0-9]{0,5})$/.test(p)) {
        throw new LwM2mPathError(p === '' ? 'EMPTY' : 'SYNTAX', `invalid path segment "${p}" in "${text}"`);
      }
      ids.push(Number(p));
    }
    return LwM2mPath.of(...ids);
  }

  /** Path from CoAP Uri-Path segments (e.g. `['3','0','1']`). */
  static fromSegments(segments: readonly string[]): LwM2mPath {
    return LwM2mPath.parse('/' + segments.join('/'));
  }

  isRoot(): boolean {
    return this.depth === 0;
  }
  isObject(): boolean {
    return this.depth === 1;
  }
  isObjectInstance(): boolean {
    return this.depth === 2;
  }
  isResource(): boolean {
    return this.depth === 3;
  }
  isResourceInstance(): boolean {
    return this.depth === 4;
  }

  /** Ids as a fresh array. */
  toIds(): number[] {
    return this.ids.slice();
  }

  /** CoAP Uri-Path segments (`[]` for root). */
  toSegments(): string[] {
    return this.ids.map(String);
  }

  /** Child path with one more id. */
  append(id: number): LwM2mPath {
    if (this.depth === 4) throw new LwM2mPathError('TOO_DEEP', `cannot append to resource-instance path ${this.toString()}`);
    checkId(id, NAMES[this.depth] ?? 'path');
    return new LwM2mPath(Object.freeze([...this.ids, id]));
  }

  /** Parent path (root's parent is root). */
  parent(): LwM2mPath {
    if (this.depth === 0) return this;
    return this.depth === 1 ? LwM2mPath.ROOT : new LwM2mPath(this.ids.slice(0, -1));
  }

  /** True if this path equals `other` or is an ancestor of it (root is a prefix of everything). */
  isPrefixOf(other: LwM2mPath): boolean {
    if (this.depth > other.depth) return false;
    for (let i = 0; i < this.depth; i++) if (this.ids[i] !== other.ids[i]) return false;
    return true;
  }

  equals(other: LwM2mPath): boolean {
    return this.depth === other.depth && this.isPrefixOf(other);
  }

  /** Total order: by ids left to right, a prefix sorts before its descendants. */
  compareTo(other: LwM2mPath): number {
    return LwM2mPath.compare(this, other);
  }

  static compare(a: LwM2mPath, b: LwM2mPath): number {
    const n = Math.min(a.depth, b.depth);
    for (let i = 0; i < n; i++) {
      const d = (a.ids[i] as number) - (b.ids[i] as number);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return a.depth === b.depth ? 0 : a.depth < b.depth ? -1 : 1;
  }

  toString(): string {
    if (this.text === undefined) this.text = '/' + this.ids.join('/');
    return this.text;
  }

  toJSON(): string {
    return this.toString();
  }
}
