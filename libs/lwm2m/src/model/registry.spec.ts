import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { ObjectModelError } from '../errors';
import { parseDdf } from './ddf-parser';
import { ObjectModelRegistry, SHIPPED_OBJECT_IDS, shippedModelsDir } from './registry';
import { isExecutable, isReadable, isWritable } from './types';

describe('ObjectModelRegistry with the shipped OMA objects', () => {
  const reg = ObjectModelRegistry.default();

  it('loads every shipped object once (cached)', () => {
    expect(reg.ids()).toEqual([...SHIPPED_OBJECT_IDS].sort((a, b) => a - b));
    expect(ObjectModelRegistry.default()).toBe(reg);
  });

  it('every shipped file keeps its OMA BSD-3 licence header', () => {
    for (const id of SHIPPED_OBJECT_IDS) {
      const head = fs.readFileSync(path.join(shippedModelsDir(), `${id}.xml`), 'utf8').slice(0, 3000);
      expect(head).toMatch(/Open Mobile Alliance/);
      expect(head).toMatch(/Redistribution and use in source and binary forms/);
    }
  });

  it('spec §8.2.2 Security object 0: resources 0 URI (String), 1 Bootstrap Server (Boolean), 2 Security Mode (Integer 0-3)', () => {
    const sec = reg.getObjectModel(0)!;
    expect(sec.name).toBe('LWM2M Security');
    expect(sec.multiple).toBe(true);
    expect(sec.resources.get(0)).toMatchObject({ name: 'LWM2M  Server URI' /* verbatim from the OMA file */, type: 'STRING', multiple: false, mandatory: true });
    expect(sec.resources.get(1)?.type).toBe('BOOLEAN');
    expect(sec.resources.get(2)).toMatchObject({ type: 'INTEGER', rangeEnumeration: '0..4' });
  });

  it('Device object 3 model', () => {
    const dev = reg.getObjectModel(3)!;
    expect(dev).toMatchObject({ id: 3, name: 'Device', multiple: false, mandatory: true, version: '1.2', lwm2mVersion: '1.1' });
    const reboot = dev.resources.get(4)!;
    expect(reboot.operations).toBe('E');
    expect(reboot.type).toBe('NONE');
    expect(isExecutable(reboot)).toBe(true);
    expect(isReadable(dev.resources.get(0)!)).toBe(true);
    expect(isWritable(dev.resources.get(0)!)).toBe(false);
    expect(dev.resources.get(13)?.type).toBe('TIME');
    expect(dev.resources.get(7)?.multiple).toBe(true);
    expect(isWritable(dev.resources.get(14)!)).toBe(true);
  });

  it('IPSO objects carry units and numeric types', () => {
    const t = reg.getObjectModel(3303)!;
    expect(t.name).toBe('Temperature');
    expect(t.resources.get(5700)?.type).toBe('FLOAT');
    expect(reg.getObjectModel(3311)?.resources.get(5850)?.type).toBe('BOOLEAN');
    expect(reg.getObjectModel(1)?.resources.get(1)?.units).toBe('s');
  });

  it('every shipped resource has a known type and operations', () => {
    for (const m of reg.all()) {
      for (const r of m.resources.values()) {
        expect(['R', 'W', 'RW', 'E', 'NONE']).toContain(r.operations);
        if (r.operations !== 'E' && r.operations !== 'NONE') expect(r.type).not.toBe('NONE');
      }
    }
  });

  it('withDefaults() copies and leaves the shared registry untouched', () => {
    const copy = ObjectModelRegistry.withDefaults();
    copy.loadXml(DDF.replace('<ObjectID>3</ObjectID>', '<ObjectID>42000</ObjectID>'));
    expect(copy.has(42000)).toBe(true);
    expect(reg.has(42000)).toBe(false);
  });
});

const DDF = `<?xml version="1.0"?><LWM2M><Object ObjectType="MODefinition"><Name>X</Name><ObjectID>3</ObjectID>
<MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
<Item ID="1"><Name>A</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Unsigned Integer</Type><RangeEnumeration>0..9</RangeEnumeration><Units>s</Units><Description><![CDATA[a & b]]></Description></Item>
</Resources></Object></LWM2M>`;

describe('DDF parser', () => {
  it('parses a minimal document with defaults', () => {
    const [m] = parseDdf(DDF);
    expect(m).toMatchObject({ id: 3, name: 'X', version: '1.0', lwm2mVersion: '1.0', multiple: true, mandatory: false });
    expect(m?.resources.get(1)).toMatchObject({ type: 'UNSIGNED_INTEGER', operations: 'RW', mandatory: true, units: 's', description: 'a & b', rangeEnumeration: '0..9' });
  });

  it.each([
    ['not xml', 'hello', 'MALFORMED_XML'],
    ['unclosed tag', '<LWM2M><Object>', 'MALFORMED_XML'],
    ['no LWM2M root', '<a/>', 'INVALID_MODEL'],
    ['no Object', '<LWM2M></LWM2M>', 'INVALID_MODEL'],
    ['bad object id', DDF.replace('<ObjectID>3</ObjectID>', '<ObjectID>x</ObjectID>'), 'INVALID_MODEL'],
    ['bad resource id', DDF.replace('ID="1"', 'ID="70000"'), 'INVALID_MODEL'],
    ['unknown type', DDF.replace('Unsigned Integer', 'Complex'), 'INVALID_MODEL'],
    ['entity declarations', '<!DOCTYPE x [<!ENTITY a "b">]><LWM2M/>', 'MALFORMED_XML'],
  ])('%s → ObjectModelError %s', (_n, xml, reason) => {
    try {
      parseDdf(xml);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ObjectModelError);
      expect((e as ObjectModelError).reason).toBe(reason);
    }
  });

  it('loadDirectory loads good files and reports bad ones', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-ddf-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.xml'), DDF.replace('<ObjectID>3</ObjectID>', '<ObjectID>50001</ObjectID>'));
      fs.writeFileSync(path.join(dir, 'b.xml'), '<LWM2M><Object>');
      fs.writeFileSync(path.join(dir, 'c.txt'), 'ignored');
      const r = new ObjectModelRegistry();
      const res = r.loadDirectory(dir);
      expect(res.loaded.map((m) => m.id)).toEqual([50001]);
      expect(res.errors).toHaveLength(1);
      expect(res.errors[0]?.error.reason).toBe('MALFORMED_XML');
      expect(() => r.loadDirectory(path.join(dir, 'missing'))).toThrow(ObjectModelError);
      expect(() => r.loadFile(path.join(dir, 'missing.xml'))).toThrow(ObjectModelError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fuzz: mutated DDF never throws anything but ObjectModelError', () => {
    const base = fs.readFileSync(path.join(shippedModelsDir(), '3303.xml'), 'utf8');
    const body = base.slice(base.indexOf('<LWM2M'));
    fc.assert(
      fc.property(fc.nat(body.length), fc.nat(body.length), fc.string({ maxLength: 8 }), (a, b, ins) => {
        const s = body.slice(0, Math.min(a, b)) + ins + body.slice(Math.max(a, b));
        try {
          parseDdf(s);
        } catch (e) {
          if (!(e instanceof ObjectModelError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseDdf(s);
        } catch (e) {
          if (!(e instanceof ObjectModelError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
