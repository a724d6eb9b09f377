import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCassandra, loadMigrations, migrate, type CassandraClient } from '@dmp/cassandra';
import { stack, uniqueName } from '@dmp/testing';

const client: CassandraClient = createCassandra({ contactPoints: stack.cassandraContactPoints, localDataCenter: stack.cassandraDc });
const keyspace = uniqueName('it').toLowerCase();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cql-'));
const opts = { keyspace, replicationFactor: 1, dataCenter: stack.cassandraDc };

beforeAll(async () => {
  await client.connect();
  fs.writeFileSync(
    path.join(dir, '0001_readings.cql'),
    `-- readings per device and day
CREATE TABLE IF NOT EXISTS \${keyspace}.readings (
  epi text, day date, ts timestamp, path text, value double,
  PRIMARY KEY ((epi, day), ts, path)
) WITH CLUSTERING ORDER BY (ts DESC, path ASC);
`,
  );
});
afterAll(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Cassandra (real node)', () => {
  it('applies migrations once, even with concurrent runners', async () => {
    const ms = loadMigrations(dir);
    const [a, b] = await Promise.all([migrate(client, ms, opts), migrate(client, ms, opts)]);
    expect([...a, ...b]).toEqual([1]);
    expect(await migrate(client, ms, opts)).toEqual([]);
    const rows = (await client.execute(`SELECT version, name, checksum FROM ${keyspace}.schema_migrations`)).rows;
    expect(rows.map((r) => [r['version'], r['name']])).toEqual([[1, 'readings']]);
  });

  it('applies a new migration and refuses a changed one', async () => {
    fs.writeFileSync(path.join(dir, '0002_latest.cql'), `CREATE TABLE IF NOT EXISTS \${keyspace}.latest (epi text, path text, value double, PRIMARY KEY (epi, path));\n`);
    expect(await migrate(client, loadMigrations(dir), opts)).toEqual([2]);
    fs.appendFileSync(path.join(dir, '0001_readings.cql'), '-- edited after the fact\n');
    await expect(migrate(client, loadMigrations(dir), opts)).rejects.toThrow(/0001_readings.cql was changed after it was applied/);
  });

  it('writes and reads with prepared statements (idempotent upsert)', async () => {
    const insert = `INSERT INTO ${keyspace}.readings (epi, day, ts, path, value) VALUES (?, ?, ?, ?, ?)`;
    const day = '2026-11-26';
    const ts = new Date('2026-11-26T01:00:00Z');
    for (let i = 0; i < 2; i++) await client.execute(insert, ['861234567890123', day, ts, '/3303/0/5700', 21.5], { prepare: true });
    await client.execute(insert, ['861234567890123', day, new Date(ts.getTime() + 1000), '/3303/0/5700', 22], { prepare: true });
    const rs = await client.execute(`SELECT ts, value FROM ${keyspace}.readings WHERE epi = ? AND day = ?`, ['861234567890123', day], { prepare: true });
    expect(rs.rows.map((r) => r['value'])).toEqual([22, 21.5]); // two rows, newest first
  });
});
