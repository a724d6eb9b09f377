import type { z } from 'zod';

export type CleanupPolicy = 'delete' | 'compact';

/**
 * One Kafka topic: its name (the schema version is part of the name: `.v1`), sizing,
 * retention, and the zod schemas of its key and value. Values travel as UTF-8 JSON.
 */
export interface TopicSpec<K extends z.ZodType = z.ZodType, V extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly version: number;
  readonly description: string;
  readonly partitions: number;
  readonly retentionMs: number;
  readonly cleanupPolicy: CleanupPolicy;
  readonly key: K;
  readonly value: V;
}

export function defineTopic<K extends z.ZodType, V extends z.ZodType>(spec: TopicSpec<K, V>): TopicSpec<K, V> {
  if (!/^[a-z0-9._-]+\.v\d+$/.test(spec.name) || !spec.name.endsWith(`.v${spec.version}`)) {
    throw new Error(`topic name ${spec.name} must end with .v${spec.version}`);
  }
  return Object.freeze(spec);
}

export class ContractError extends Error {
  constructor(
    readonly topic: string,
    readonly reason: 'KEY_INVALID' | 'VALUE_NOT_JSON' | 'VALUE_INVALID' | 'VALUE_MISSING',
    detail: string,
  ) {
    super(`${topic}: ${reason}: ${detail}`);
    this.name = 'ContractError';
  }
}

export interface EncodedMessage {
  key: string;
  value: Buffer;
}

/** Validates then serialises a message for `spec` (throws ContractError on a bad message). */
export function encodeMessage<K extends z.ZodType, V extends z.ZodType>(
  spec: TopicSpec<K, V>,
  key: z.input<K>,
  value: z.input<V>,
): EncodedMessage {
  const k = spec.key.safeParse(key);
  if (!k.success) throw new ContractError(spec.name, 'KEY_INVALID', k.error.message);
  const v = spec.value.safeParse(value);
  if (!v.success) throw new ContractError(spec.name, 'VALUE_INVALID', v.error.message);
  return { key: String(k.data), value: Buffer.from(JSON.stringify(v.data)) };
}

/** Parses and validates a consumed message (throws ContractError on a bad message). */
export function decodeMessage<K extends z.ZodType, V extends z.ZodType>(
  spec: TopicSpec<K, V>,
  key: Buffer | string | null | undefined,
  value: Buffer | string | null | undefined,
): { key: z.output<K>; value: z.output<V> } {
  const k = spec.key.safeParse(key == null ? key : key.toString());
  if (!k.success) throw new ContractError(spec.name, 'KEY_INVALID', k.error.message);
  if (value == null) throw new ContractError(spec.name, 'VALUE_MISSING', 'null value (tombstone)');
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch (e) {
    throw new ContractError(spec.name, 'VALUE_NOT_JSON', (e as Error).message);
  }
  const v = spec.value.safeParse(json);
  if (!v.success) throw new ContractError(spec.name, 'VALUE_INVALID', v.error.message);
  return { key: k.data, value: v.data };
}
