import { createHash } from 'node:crypto';
import { z } from 'zod';
import { cassandraEnv, commonEnv, envBool, envInt, envList, kafkaEnv } from '@dmp/config';
import { Topics } from '@dmp/contracts';
import { FieldCipher, parseKeys } from './crypto';

const DAY_S = 86400;
const pathPattern = /^(\/(\d{1,5}|\*)){3,4}$/;

export const storageEnv = z
  .object({
    ...commonEnv,
    ...kafkaEnv,
    ...cassandraEnv,
    HTTP_PORT: envInt(8082, 0, 65535),
    /** Topic of DataEvents (the platform's is dmp.data.v1; benchmarks use their own). */
    STORAGE_TOPIC: z.string().regex(/^[a-z0-9._-]+$/).default(Topics.data.name),
    STORAGE_GROUP_ID: z.string().min(1).default('dmp-storage'),
    /** A new consumer group starts at the oldest retained message (true) or at the end (false). */
    STORAGE_FROM_BEGINNING: envBool(true),
    /** How long a crashed instance holds its partitions before the group reassigns them. */
    STORAGE_SESSION_TIMEOUT_MS: envInt(30000, 6000, 300000),
    /** Kafka partitions processed in parallel by this instance. */
    STORAGE_PARTITION_CONCURRENCY: envInt(12, 1, 64),
    /** Cassandra requests in flight at once (over all partitions). */
    STORAGE_WRITE_CONCURRENCY: envInt(128, 1, 2048),
    /** Rows per single-partition unlogged batch. */
    STORAGE_BATCH_ROWS: envInt(40, 1, 500),
    /** Time-to-live of rows, seconds; 0 = kept forever. */
    STORAGE_HISTORY_TTL_S: envInt(90 * DAY_S, 0, 20 * 365 * DAY_S),
    STORAGE_LATEST_TTL_S: envInt(0, 0, 20 * 365 * DAY_S),
    STORAGE_RAW_TTL_S: envInt(30 * DAY_S, 0, 20 * 365 * DAY_S),
    /** Keep the payload as received (data_raw). */
    STORAGE_STORE_RAW: envBool(true),
    /** Encrypt the raw payload column (AES-256-GCM); identities are always encrypted. */
    STORAGE_ENCRYPT_PAYLOADS: envBool(true),
    /** Resources whose values are identities (IMEI/IMSI/serial, IP addresses): stored encrypted + keyed hash. */
    STORAGE_SENSITIVE_PATHS: envList('/3/*/2,/4/*/4,/4/*/5').pipe(
      z.array(z.string().regex(pathPattern, 'each entry must look like /4/*/4 (object/instance/resource[/instance], * = any)')),
    ),
    /** A value time more than this after the event (receive) time is abnormal (far-future). */
    STORAGE_MAX_FUTURE_S: envInt(3600, 0, 365 * DAY_S),
    /** A value time more than this before the event (receive) time is abnormal (far-past). */
    STORAGE_MAX_PAST_S: envInt(30 * DAY_S, 0, 100 * 365 * DAY_S),
    /** Encryption keys: {"<id>":"<base64 of 32 bytes>"}; old ids stay for reading old rows. */
    STORAGE_KEYS: z.string().optional(),
    /** Key id used for new rows. */
    STORAGE_ACTIVE_KEY: z.string().optional(),
    /** HMAC-SHA-256 key (base64, >= 32 bytes) for the keyed hashes (EPI partition key, identity lookups). */
    STORAGE_HASH_KEY: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const prod = c.DMP_ENV === 'production';
    const given = [c.STORAGE_KEYS, c.STORAGE_ACTIVE_KEY, c.STORAGE_HASH_KEY].filter((v) => v !== undefined).length;
    if (prod || given > 0) {
      if (c.STORAGE_KEYS === undefined) ctx.addIssue({ code: 'custom', path: ['STORAGE_KEYS'], message: 'is required (with STORAGE_ACTIVE_KEY and STORAGE_HASH_KEY)' });
      if (c.STORAGE_ACTIVE_KEY === undefined) ctx.addIssue({ code: 'custom', path: ['STORAGE_ACTIVE_KEY'], message: 'is required (with STORAGE_KEYS and STORAGE_HASH_KEY)' });
      if (c.STORAGE_HASH_KEY === undefined) ctx.addIssue({ code: 'custom', path: ['STORAGE_HASH_KEY'], message: 'is required (with STORAGE_KEYS and STORAGE_ACTIVE_KEY)' });
    }
    if (c.STORAGE_KEYS !== undefined) {
      try {
        const keys = parseKeys(c.STORAGE_KEYS);
        if (c.STORAGE_ACTIVE_KEY !== undefined && !keys.has(c.STORAGE_ACTIVE_KEY)) {
          ctx.addIssue({ code: 'custom', path: ['STORAGE_ACTIVE_KEY'], message: 'is not a key id of STORAGE_KEYS' });
        }
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['STORAGE_KEYS'], message: (e as Error).message });
      }
    }
    if (c.STORAGE_HASH_KEY !== undefined && Buffer.from(c.STORAGE_HASH_KEY, 'base64').length < 32) {
      ctx.addIssue({ code: 'custom', path: ['STORAGE_HASH_KEY'], message: 'must be base64 of at least 32 bytes' });
    }
  });
export type StorageConfig = z.infer<typeof storageEnv>;

/** Fixed, public development keys: used only outside production when no key is configured. */
const devKey = (label: string) => createHash('sha256').update(`dmp-storage-development-only:${label}`).digest();

export function cipherFromConfig(c: StorageConfig): { cipher: FieldCipher; development: boolean } {
  if (c.STORAGE_KEYS === undefined || c.STORAGE_ACTIVE_KEY === undefined || c.STORAGE_HASH_KEY === undefined) {
    return { cipher: new FieldCipher({ dev: devKey('aes') }, 'dev', devKey('hmac')), development: true };
  }
  return { cipher: new FieldCipher(parseKeys(c.STORAGE_KEYS), c.STORAGE_ACTIVE_KEY, Buffer.from(c.STORAGE_HASH_KEY, 'base64')), development: false };
}
