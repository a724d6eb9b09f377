import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'cassandra-driver';

export interface Migration {
  /** File name, e.g. 0001_platform_meta.cql. */
  file: string;
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Splits a .cql file into statements (';' at end of line), dropping `--` and `//` comment lines. */
export function splitCql(text: string): string[] {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*(--|\/\/)/.test(l))
    .join('\n');
  return lines
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Reads `NNNN_name.cql` files from a directory, ordered by version. A statement may use
 * `${keyspace}`, replaced by the target keyspace. Every statement must be idempotent
 * (`IF NOT EXISTS`, ...): Cassandra DDL is not transactional, so a half-applied
 * migration is re-run from its first statement.
 */
export function loadMigrations(dir: string): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cql')).sort();
  const seen = new Set<number>();
  return files.map((f) => {
    const m = /^(\d+)_([a-z0-9_]+)\.cql$/.exec(f);
    if (!m) throw new MigrationError(`bad migration file name ${f} (want NNNN_name.cql)`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new MigrationError(`duplicate migration version ${version}`);
    seen.add(version);
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    return { file: f, version, name: m[2]!, statements: splitCql(text), checksum: createHash('sha256').update(text).digest('hex') };
  });
}

export interface MigrateOptions {
  keyspace: string;
  /** Replication of a keyspace created here: NetworkTopologyStrategy with this factor in `dataCenter`. */
  replicationFactor: number;
  dataCenter: string;
  /** How long to wait for another runner's lock (default 120 s). */
  lockTimeoutMs?: number;
  log?: (msg: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Applies pending migrations in version order, once, even with several replicas
 * starting together: a lightweight-transaction lock row (with a TTL, so a crashed
 * runner cannot hold it forever) serialises runners; `schema_migrations` records
 * version, name, checksum and time; an applied migration whose file changed is an error.
 */
export async function migrate(client: Client, migrations: readonly Migration[], opts: MigrateOptions): Promise<number[]> {
  const ks = opts.keyspace;
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(ks)) throw new MigrationError(`bad keyspace name ${ks}`);
  const log = opts.log ?? ((): void => undefined);
  const q = (cql: string, params: unknown[] = []) => client.execute(cql, params, { prepare: params.length > 0 });
  await q(
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'NetworkTopologyStrategy', '${opts.dataCenter}': ${opts.replicationFactor}}`,
  );
  await q(`CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (version int PRIMARY KEY, name text, checksum text, applied_at timestamp)`);
  await q(`CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations_lock (id text PRIMARY KEY, owner text)`);

  const owner = randomUUID();
  const deadline = Date.now() + (opts.lockTimeoutMs ?? 120_000);
  for (;;) {
    const rs = await client.execute(
      `INSERT INTO ${ks}.schema_migrations_lock (id, owner) VALUES ('lock', ?) IF NOT EXISTS USING TTL 300`,
      [owner],
      { prepare: true },
    );
    if (rs.wasApplied()) break;
    if (Date.now() > deadline) throw new MigrationError(`could not take the migration lock on ${ks} (held by ${String(rs.first()?.['owner'])})`);
    await sleep(250);
  }
  const appliedNow: number[] = [];
  try {
    const rows = (await q(`SELECT version, name, checksum FROM ${ks}.schema_migrations`)).rows;
    const applied = new Map(rows.map((r) => [Number(r['version']), String(r['checksum'])]));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      const sum = applied.get(m.version);
      if (sum !== undefined) {
        if (sum !== m.checksum) {
          throw new MigrationError(`migration ${m.file} was changed after it was applied (checksum differs)`);
        }
        continue;
      }
      log(`applying migration ${m.file} to ${ks}`);
      for (const st of m.statements) await q(st.replaceAll('${keyspace}', ks));
      await client.execute(
        `INSERT INTO ${ks}.schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, toTimestamp(now()))`,
        [m.version, m.name, m.checksum],
        { prepare: true },
      );
      appliedNow.push(m.version);
    }
  } finally {
    await client
      .execute(`DELETE FROM ${ks}.schema_migrations_lock WHERE id = 'lock' IF owner = ?`, [owner], { prepare: true })
      .catch(() => undefined);
  }
  return appliedNow;
}
