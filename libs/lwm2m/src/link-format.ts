/**
 * RFC 6690 CoRE link-format (content format 40) parser and serializer, with typed access
 * to the LwM2M attributes (`ver`, `rt`, `ct`, `pmin`, `pmax`, `gt`, `lt`, `st`, `dim`, ...).
 *
 * Grammar (RFC 6690 §2): `Link = link-value *("," link-value)`,
 * `link-value = "<" URI-Reference ">" *(";" link-param)`,
 * `link-param = parmname ["=" (ptoken / quoted-string)]`.
 * Tolerated deviations seen on real devices: optional whitespace around `,`, `;`, `=`,
 * an empty payload (no links), a trailing comma. Caps: {@link MAX_LINK_FORMAT_CHARS}
 * characters, {@link MAX_LINKS} links, {@link MAX_LINK_PARAMS} params per link.
 */
import { LinkFormatError } from './errors';

export const MAX_LINK_FORMAT_CHARS = 64 * 1024;
export const MAX_LINKS = 4096;
export const MAX_LINK_PARAMS = 64;

/** Attribute value: a string (quoted or token form) or `true` for a flag without value. */
export type LinkAttributeValue = string | true;

export interface Link {
  /** The URI-Reference between `<` and `>` (not percent-decoded). */
  readonly uri: string;
  /** Attributes in order of appearance (null-prototype object; later duplicates win). */
  readonly attributes: Readonly<Record<string, LinkAttributeValue>>;
}

export interface LinkFormatLimits {
  maxChars?: number;
  maxLinks?: number;
}

const PTOKEN_CHAR = /[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]/;
/** ASCII lookup tables: 1 = ptoken char, 2 = parmname char (bit flags). */
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (PTOKEN_CHAR.test(ch)) CHAR_CLASS[c] = (CHAR_CLASS[c] as number) | 1;
  if (/[A-Za-z0-9!#$&+\-.^_`|~*]/.test(ch)) CHAR_CLASS[c] = (CHAR_CLASS[c] as number) | 2;
}
function isPtokenCode(c: number): boolean {
  return c < 128 && ((CHAR_CLASS[c] as number) & 1) !== 0;
}
function isParmnameCode(c: number): boolean {
  return c < 128 && ((CHAR_CLASS[c] as number) & 2) !== 0;
}
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Parse link-format text (or UTF-8 bytes). Throws {@link LinkFormatError}. */
export function parseLinkFormat(input: string | Uint8Array, limits: LinkFormatLimits = {}): Link[] {
  const maxChars = limits.maxChars ?? MAX_LINK_FORMAT_CHARS;
  const maxLinks = limits.maxLinks ?? MAX_LINKS;
  let s: string;
  if (typeof input === 'string') s = input;
  else {
    if (input.length > maxChars * 4) throw new LinkFormatError('TOO_LARGE', `payload of ${input.length} bytes`);
    try {
      s = utf8.decode(input);
    } catch {
      throw new LinkFormatError('SYNTAX', 'payload is not valid UTF-8');
    }
  }
  if (s.length > maxChars) throw new LinkFormatError('TOO_LARGE', `${s.length} characters > ${maxChars}`);
  const links: Link[] = [];
  const n = s.length;
  let i = 0;
  const skipWs = (): void => {
    while (i < n && isWs(s[i])) i++;
  };
  skipWs();
  if (i === n) return links;
  for (;;) {
    skipWs();
    if (s[i] !== '<') throw new LinkFormatError('SYNTAX', `expected "<"`, i);
    const close = s.indexOf('>', i + 1);
    if (close < 0) throw new LinkFormatError('SYNTAX', 'unterminated "<"', i);
    const uri = s.slice(i + 1, close);
    if (uri.length > 0 && /[<\s"]/.test(uri)) throw new LinkFormatError('SYNTAX', 'invalid character in URI-Reference', i + 1);
    i = close + 1;
    const attributes: Record<string, LinkAttributeValue> = Object.create(null) as Record<string, LinkAttributeValue>;
    let params = 0;
    skipWs();
    while (s[i] === ';') {
      i++;
      skipWs();
      const start = i;
      while (i < n && isParmnameCode(s.charCodeAt(i))) i++;
      if (i === start) throw new LinkFormatError('SYNTAX', 'expected parameter name', i);
      const name = s.slice(start, i).toLowerCase();
      if (++params > MAX_LINK_PARAMS) throw new LinkFormatError('TOO_LARGE', `more than ${MAX_LINK_PARAMS} parameters in one link`, start);
      skipWs();
      let value: LinkAttributeValue = true;
      if (s[i] === '=') {
        i++;
        skipWs();
        if (s[i] === '"') {
          i++;
          let v = '';
          for (;;) {
            if (i >= n) throw new LinkFormatError('SYNTAX', 'unterminated quoted string', start);
            const c = s[i] as string;
            if (c === '\\') {
              if (i + 1 >= n) throw new LinkFormatError('SYNTAX', 'dangling escape', i);
              v += s[i + 1];
              i += 2;
            } else if (c === '"') {
              i++;
              break;
            } else {
              v += c;
              i++;
            }
          }
          value = v;
        } else {
          const vs = i;
          while (i < n && s[i] !== ',' && s[i] !== ';' && !isWs(s[i])) {
            if (!isPtokenCode(s.charCodeAt(i))) throw new LinkFormatError('SYNTAX', `invalid character "${s[i]}" in value`, i);
            i++;
          }
          if (i === vs) throw new LinkFormatError('SYNTAX', `empty value for "${name}"`, vs);
          value = s.slice(vs, i);
        }
      }
      attributes[name] = value;
      skipWs();
    }
    links.push({ uri, attributes });
    if (links.length > maxLinks) throw new LinkFormatError('TOO_MANY_LINKS', `more than ${maxLinks} links`);
    skipWs();
    if (i >= n) break;
    if (s[i] !== ',') throw new LinkFormatError('SYNTAX', `expected "," or ";"`, i);
    i++;
    skipWs();
    if (i >= n) break; // trailing comma
  }
  return links;
}

/** Attributes serialized quoted even when they are valid tokens (RFC 6690 convention). */
const ALWAYS_QUOTED = new Set(['rt', 'if', 'title', 'anchor', 'rel', 'rev', 'type']);

function isPtoken(v: string): boolean {
  if (v === '') return false;
  for (let i = 0; i < v.length; i++) if (!isPtokenCode(v.charCodeAt(i))) return false;
  return true;
}

/** Serialize links (inverse of {@link parseLinkFormat}). */
export function serializeLinkFormat(links: readonly Link[]): string {
  const parts: string[] = [];
  for (const l of links) {
    if (/[<>\s"]/.test(l.uri)) throw new LinkFormatError('SYNTAX', `invalid URI-Reference "${l.uri}"`);
    let out = `<${l.uri}>`;
    for (const name of Object.keys(l.attributes)) {
      if (!/^[A-Za-z0-9!#$&+\-.^_`|~*]+$/.test(name)) throw new LinkFormatError('SYNTAX', `invalid parameter name "${name}"`);
      const v = l.attributes[name];
      if (v === true || v === undefined) out += `;${name}`;
      else if (!ALWAYS_QUOTED.has(name) && isPtoken(v)) out += `;${name}=${v}`;
      else out += `;${name}="${v.replace(/["\\]/g, (c) => '\\' + c)}"`;
    }
    parts.push(out);
  }
  return parts.join(',');
}

/** Convenience: build a link. */
export function link(uri: string, attributes: Record<string, LinkAttributeValue | number | undefined> = {}): Link {
  const a: Record<string, LinkAttributeValue> = Object.create(null) as Record<string, LinkAttributeValue>;
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) a[k] = typeof v === 'number' ? String(v) : v;
  return { uri, attributes: a };
}

/** Typed view of the LwM2M attributes of a link (unparseable numbers → undefined). */
export interface Lwm2mLinkAttributes {
  ver?: string;
  rt?: string;
  ct?: number[];
  pmin?: number;
  pmax?: number;
  gt?: number;
  lt?: number;
  st?: number;
  dim?: number;
  ssid?: number;
  uri?: string;
}

function num(v: LinkAttributeValue | undefined): number | undefined {
  if (typeof v !== 'string' || !/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(v)) return undefined;
  return Number(v);
}
function int(v: LinkAttributeValue | undefined): number | undefined {
  return typeof v === 'string' && /^[0-9]{1,10}$/.test(v) ? Number(v) : undefined;
}

export function lwm2mAttributes(l: Link): Lwm2mLinkAttributes {
  const a = l.attributes;
  const out: Lwm2mLinkAttributes = {};
  if (typeof a['ver'] === 'string') out.ver = a['ver'];
  if (typeof a['rt'] === 'string') out.rt = a['rt'];
  if (typeof a['ct'] === 'string') {
    const cts = a['ct'].split(/\s+/).map((x) => int(x));
    if (cts.every((x) => x !== undefined)) out.ct = cts as number[];
  }
  const pmin = int(a['pmin']);
  if (pmin !== undefined) out.pmin = pmin;
  const pmax = int(a['pmax']);
  if (pmax !== undefined) out.pmax = pmax;
  const gt = num(a['gt']);
  if (gt !== undefined) out.gt = gt;
  const lt = num(a['lt']);
  if (lt !== undefined) out.lt = lt;
  const st = num(a['st'] ?? a['stp']);
  if (st !== undefined) out.st = st;
  const dim = int(a['dim']);
  if (dim !== undefined) out.dim = dim;
  const ssid = int(a['ssid']);
  if (ssid !== undefined) out.ssid = ssid;
  if (typeof a['uri'] === 'string') out.uri = a['uri'];
  return out;
}
