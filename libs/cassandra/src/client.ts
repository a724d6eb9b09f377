import { auth, Client, type ClientOptions, types } from 'cassandra-driver';

export { Client as CassandraClient, types as cassandraTypes };

export interface CassandraConfig {
  contactPoints: string[];
  localDataCenter: string;
  keyspace?: string;
  username?: string;
  password?: string;
}

/**
 * cassandra-driver client with the platform's defaults: every query is prepared
 * (cached per query string by the driver), LOCAL_QUORUM reads/writes, token-aware
 * routing (driver default). Call `connect()` during boot.
 */
export function createCassandra(cfg: CassandraConfig, extra: Partial<ClientOptions> = {}): Client {
  return new Client({
    contactPoints: cfg.contactPoints,
    localDataCenter: cfg.localDataCenter,
    keyspace: cfg.keyspace,
    authProvider: cfg.username ? new auth.PlainTextAuthProvider(cfg.username, cfg.password ?? '') : undefined,
    queryOptions: { prepare: true, consistency: types.consistencies.localQuorum },
    socketOptions: { connectTimeout: 5000, readTimeout: 12000 },
    ...extra,
  });
}

/** True when the driver holds at least one open connection to a node. */
export function isCassandraReady(client: Client): boolean {
  try {
    return client.getState().getConnectedHosts().length > 0;
  } catch {
    return false; // not connected yet
  }
}
