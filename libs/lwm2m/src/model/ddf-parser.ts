/**
 * OMA DDF XML (LwM2M object definition) → {@link ObjectModel}. Uses fast-xml-parser.
 * Malformed / invalid input throws {@link ObjectModelError}; nothing else escapes.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ObjectModelError } from '../errors';
import type { ResourceType } from '../node';
import type { ObjectModel, ResourceModel, ResourceOperations } from './types';

/** DDF files larger than this are refused (the largest OMA file is ~150 kB). */
export const MAX_DDF_BYTES = 4 * 1024 * 1024;

const TYPE_MAP: Readonly<Record<string, ResourceType>> = {
  string: 'STRING',
  integer: 'INTEGER',
  'unsigned integer': 'UNSIGNED_INTEGER',
  unsignedinteger: 'UNSIGNED_INTEGER',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  opaque: 'OPAQUE',
  time: 'TIME',
  objlnk: 'OBJLNK',
  corelnk: 'CORELNK',
  '': 'NONE',
  none: 'NONE',
};

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'Item' || name === 'Object',
});

type Raw = Record<string, unknown>;

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && '#text' in (v as Raw)) return text((v as Raw)['#text']);
  return '';
}

function parseId(v: unknown, what: string, source?: string): number {
  const s = text(v);
  if (!/^[0-9]{1,5}$/.test(s) || Number(s) > 65535) {
    throw new ObjectModelError('INVALID_MODEL', `${what} "${s}" is not an id in 0..65535`, source);
  }
  return Number(s);
}

function parseOperations(v: unknown): ResourceOperations {
  const s = text(v).toUpperCase();
  if (s === '') return 'NONE';
  if (s === 'R' || s === 'W' || s === 'RW' || s === 'E') return s;
  if (s === 'WR') return 'RW';
  return 'NONE';
}

function parseType(v: unknown, what: string, source?: string): ResourceType {
  const s = text(v).toLowerCase();
  const t = TYPE_MAP[s];
  if (t === undefined) throw new ObjectModelError('INVALID_MODEL', `${what}: unknown data type "${text(v)}"`, source);
  return t;
}

function parseResource(item: unknown, objectId: number, source?: string): ResourceModel {
  if (typeof item !== 'object' || item === null) throw new ObjectModelError('INVALID_MODEL', `object ${objectId}: bad <Item>`, source);
  const r = item as Raw;
  const id = parseId(r['@_ID'], `object ${objectId} resource ID`, source);
  const what = `object ${objectId} resource ${id}`;
  const operations = parseOperations(r['Operations']);
  let type = parseType(r['Type'], what, source);
  // A value-less type on a readable/writable resource would be unusable: treat as OPAQUE.
  if (type === 'NONE' && operations !== 'E' && operations !== 'NONE') type = 'OPAQUE';
  return {
    id,
    name: text(r['Name']),
    operations,
    multiple: text(r['MultipleInstances']).toLowerCase() === 'multiple',
    mandatory: text(r['Mandatory']).toLowerCase() === 'mandatory',
    type,
    rangeEnumeration: text(r['RangeEnumeration']),
    units: text(r['Units']),
    description: text(r['Description']),
  };
}

function parseObject(o: unknown, source?: string): ObjectModel {
  if (typeof o !== 'object' || o === null) throw new ObjectModelError('INVALID_MODEL', 'bad <Object> element', source);
  const r = o as Raw;
  const id = parseId(r['ObjectID'], 'ObjectID', source);
  const resources = new Map<number, ResourceModel>();
  const res = r['Resources'];
  const items = typeof res === 'object' && res !== null ? (res as Raw)['Item'] : undefined;
  if (items !== undefined && !Array.isArray(items)) throw new ObjectModelError('INVALID_MODEL', `object ${id}: bad <Resources>`, source);
  const list: unknown[] = Array.isArray(items) ? items : [];
  for (const item of list) {
    const rm = parseResource(item, id, source);
    if (resources.has(rm.id)) throw new ObjectModelError('INVALID_MODEL', `object ${id}: duplicate resource ${rm.id}`, source);
    resources.set(rm.id, Object.freeze(rm));
  }
  return Object.freeze({
    id,
    name: text(r['Name']),
    description: text(r['Description1']),
    version: text(r['ObjectVersion']) || '1.0',
    lwm2mVersion: text(r['LWM2MVersion']) || '1.0',
    urn: text(r['ObjectURN']),
    multiple: text(r['MultipleInstances']).toLowerCase() === 'multiple',
    mandatory: text(r['Mandatory']).toLowerCase() === 'mandatory',
    resources,
  });
}

/**
 * Parse a DDF XML document (string or bytes) into its object models (usually exactly one).
 * `source` (e.g. the file name) only decorates error messages.
 */
export function parseDdf(xml: string | Uint8Array, source?: string): ObjectModel[] {
  let s: string;
  try {
    s = typeof xml === 'string' ? xml : Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength).toString('utf8');
  } catch (e) {
    throw new ObjectModelError('MALFORMED_XML', `cannot read input: ${(e as Error).message}`, source);
  }
  if (s.length > MAX_DDF_BYTES) throw new ObjectModelError('MALFORMED_XML', `document larger than ${MAX_DDF_BYTES} bytes`, source);
  if (/<!DOCTYPE|<!ENTITY/i.test(s)) throw new ObjectModelError('MALFORMED_XML', 'DOCTYPE / ENTITY declarations are not allowed', source);
  let doc: unknown;
  try {
    const valid = XMLValidator.validate(s);
    if (valid !== true) {
      throw new ObjectModelError('MALFORMED_XML', `${valid.err.msg} (line ${valid.err.line}, col ${valid.err.col})`, source);
    }
    doc = parser.parse(s);
  } catch (e) {
    if (e instanceof ObjectModelError) throw e;
    throw new ObjectModelError('MALFORMED_XML', (e as Error)?.message ?? String(e), source);
  }
  const root = typeof doc === 'object' && doc !== null ? (doc as Raw)['LWM2M'] : undefined;
  if (typeof root !== 'object' || root === null) throw new ObjectModelError('INVALID_MODEL', 'missing <LWM2M> root element', source);
  const objects = (root as Raw)['Object'];
  if (!Array.isArray(objects) || objects.length === 0) throw new ObjectModelError('INVALID_MODEL', 'no <Object> element', source);
  return objects.map((o) => parseObject(o, source));
}
