import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMigrations, MigrationError, splitCql } from './migrations';

describe('splitCql', () => {
  it('splits on ; at end of line and drops comment lines', () => {
    const text = `-- header\nCREATE TABLE a (x int PRIMARY KEY);\n// other\nCREATE TABLE b (\n  y text PRIMARY KEY\n);\n`;
    expect(splitCql(text)).toEqual(['CREATE TABLE a (x int PRIMARY KEY)', 'CREATE TABLE b (\n  y text PRIMARY KEY\n)']);
  });
  it('keeps ; inside a line (e.g. in a string literal)', () => {
    expect(splitCql(`INSERT INTO t (k) VALUES ('a;b');`)).toEqual([`INSERT INTO t (k) VALUES ('a;b')`]);
  });
});

describe('loadMigrations', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mig-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('orders by version and checksums the file', () => {
    fs.writeFileSync(path.join(dir, '0002_b.cql'), 'CREATE TABLE b (x int PRIMARY KEY);');
    fs.writeFileSync(path.join(dir, '0001_a.cql'), 'CREATE TABLE a (x int PRIMARY KEY);');
    const ms = loadMigrations(dir);
    expect(ms.map((m) => [m.version, m.name])).toEqual([[1, 'a'], [2, 'b']]);
    expect(ms[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a bad name and a duplicate version', () => {
    fs.writeFileSync(path.join(dir, '0002_c.cql'), 'SELECT 1;');
    expect(() => loadMigrations(dir)).toThrow(MigrationError);
    fs.rmSync(path.join(dir, '0002_c.cql'));
    fs.writeFileSync(path.join(dir, 'oops.cql'), 'SELECT 1;');
    expect(() => loadMigrations(dir)).toThrow(/bad migration file name/);
  });

  it('ships the platform migrations', () => {
    const ms = loadMigrations(path.resolve(__dirname, '..', 'migrations'));
    expect(ms[0]?.version).toBe(1);
  });
});
