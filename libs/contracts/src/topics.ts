import { z } from 'zod';
import { defineTopic, type TopicSpec } from './topic';

const DAY = 24 * 3600 * 1000;

/** EPI (the platform's device id, spec R-EPI-1): CMEI+IMEI, CMEI or IMEI; digits and letters. */
export const Epi = z.string().regex(/^[0-9A-Za-z]{8,64}$/, 'EPI must be 8-64 letters or digits');

const Address = z.object({ ip: z.string().min(2).max(64), port: z.number().int().min(0).max(65535) });
const Base = {
  v: z.literal(1),
  epi: Epi,
  /** Event time, epoch milliseconds. */
  ts: z.number().int().nonnegative(),
  /** Id of the event (uuid): consumers use it for idempotency. */
  eventId: z.string().min(8).max(64),
};

/** Registration lifecycle, keyed by EPI so one device's events stay in order. */
export const DeviceEvent = z.discriminatedUnion('type', [
  z.object({
    ...Base,
    type: z.literal('registered'),
    gatewayId: z.string().min(1),
    address: Address,
    endpoint: z.string().min(1).max(1024),
    location: z.string().min(1),
    lifetime: z.number().int().positive(),
    lwm2mVersion: z.string(),
    binding: z.string(),
    links: z.string().max(65536),
    replaced: z.boolean(),
  }),
  z.object({
    ...Base,
    type: z.literal('updated'),
    gatewayId: z.string().min(1),
    address: Address,
    lifetime: z.number().int().positive(),
    binding: z.string().optional(),
    links: z.string().max(65536).optional(),
    /** EPN version of the registration (R-EPI-2), kept from Register whatever location the Update used. */
    version: z.string().max(64).optional(),
  }),
  z.object({ ...Base, type: z.literal('deregistered'), gatewayId: z.string().min(1), address: Address }),
  z.object({ ...Base, type: z.literal('awake'), gatewayId: z.string().min(1), address: Address }),
  z.object({
    ...Base,
    type: z.literal('offline'),
    reason: z.enum(['lifetime-timeout']),
    deadline: z.number().int(),
    /** Last owner, address and lifetime of the removed registration (registry, optional). */
    gatewayId: z.string().optional(),
    address: Address.optional(),
    lifetime: z.number().int().optional(),
  }),
]);
export type DeviceEvent = z.infer<typeof DeviceEvent>;

/** Device states kept by the registry (R-REG-4, R-DEREG-1, R-OFF-1). */
export const DeviceState = z.enum(['ONLINE', 'OFFLINE', 'DEREGISTERED']);
export type DeviceState = z.infer<typeof DeviceState>;

/**
 * What the registry derives from the registration lifecycle, keyed by EPI: the activation
 * of a device (first successful registration, R-ACT-1) and every state transition.
 */
export const DeviceStateEvent = z.discriminatedUnion('type', [
  z.object({
    ...Base,
    type: z.literal('activated'),
    /** Activation time (the first `registered` event's time), epoch ms. */
    activatedAt: z.number().int(),
    address: Address,
    gatewayId: z.string().min(1),
    /** Region of the source address (ip2region): empty strings when unknown. */
    region: z.object({ country: z.string(), province: z.string(), city: z.string(), isp: z.string() }),
    cmei: z.string().optional(),
    imei: z.string().optional(),
    imsi: z.string().optional(),
    version: z.string().optional(),
    appKey: z.string().optional(),
    brand: z.string().optional(),
    model: z.string().optional(),
  }),
  z.object({
    ...Base,
    type: z.literal('state-changed'),
    from: DeviceState.nullable(),
    to: DeviceState,
    reason: z.enum(['registered', 'updated', 'deregistered', 'lifetime-timeout']),
    gatewayId: z.string().optional(),
    address: Address.optional(),
    /** Id of the device event that caused the transition. */
    causeEventId: z.string().min(8).max(64),
  }),
]);
export type DeviceStateEvent = z.infer<typeof DeviceStateEvent>;

const ResourceValue = z.object({
  path: z.string().regex(/^(\/\d{1,5}){1,4}$/),
  type: z.enum(['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk', 'none']),
  /** JSON form of the value: opaque as base64, objlnk as "objectId:instanceId", time as epoch seconds. */
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  /** Measurement time (epoch ms) when the device sent one (SenML), else the event time. */
  ts: z.number().int().optional(),
});

/**
 * Where a reported value came from: a notification, a Read result, the first value of an
 * Observe (its 2.05 answer, R-OBS-2), or a LwM2M Send.
 */
export const DataSource = z.enum(['notify', 'read', 'observe', 'send']);
export type DataSource = z.infer<typeof DataSource>;

/** Values reported by devices: notifications, read results, the first Observe value, Send. */
export const DataEvent = z.object({
  ...Base,
  source: DataSource,
  path: z.string(),
  /** EPN version of the device's registration (R-EPI-2: carried in later flows), when it has one. */
  version: z.string().max(64).optional(),
  contentFormat: z.number().int().nonnegative(),
  observeSeq: z.number().int().nonnegative().optional(),
  values: z.array(ResourceValue).max(10000),
  /** The payload as received, base64 (for audit and replay). */
  raw: z.string().optional(),
});
export type DataEvent = z.infer<typeof DataEvent>;

/** A device request, as the command service hands it to the gateway that owns the device. */
export const DeviceCommand = z.object({
  v: z.literal(1),
  /** Operation id (the API's `id`), echoed in the result. */
  id: z.string().min(8).max(64),
  epi: Epi,
  ts: z.number().int().nonnegative(),
  /** LwM2M operation name, for metrics and the result. */
  operation: z.string().min(1).max(32),
  method: z.enum(['GET', 'PUT', 'POST', 'DELETE', 'FETCH', 'IPATCH']),
  uriPath: z.array(z.string().max(255)).max(8),
  uriQuery: z.array(z.string().max(255)).max(16).default([]),
  contentFormat: z.number().int().nonnegative().optional(),
  accept: z.number().int().nonnegative().optional(),
  /** 0 = register an observation, 1 = cancel it. */
  observe: z.union([z.literal(0), z.literal(1)]).optional(),
  /** Token to use (hex), e.g. the observation's token for a cancel-observe; else a new one. */
  token: z.string().regex(/^([0-9a-f]{2}){1,8}$/).optional(),
  /** Request payload, base64. */
  payload: z.string().max(1_500_000).optional(),
  /** Give up (result TIMEOUT) after this long, retransmissions included. */
  timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
  /** Drop instead of sending when older than this (epoch ms). */
  expiresAt: z.number().int().optional(),
});
export type DeviceCommand = z.infer<typeof DeviceCommand>;

/** What became of a DeviceCommand. */
export const CommandResult = z.object({
  v: z.literal(1),
  id: z.string().min(8).max(64),
  epi: Epi,
  ts: z.number().int().nonnegative(),
  gatewayId: z.string().min(1),
  operation: z.string(),
  status: z.enum(['SUCCESS', 'FAILED', 'TIMEOUT', 'UNREACHABLE', 'INVALID']),
  /** CoAP response code as "c.dd" when the device answered. */
  code: z.string().regex(/^\d\.\d\d$/).optional(),
  contentFormat: z.number().int().optional(),
  /** Response payload, base64. */
  payload: z.string().optional(),
  /** Decoded values when the payload could be decoded with the object model. */
  values: z.array(ResourceValue).max(10000).optional(),
  /** Observation token (hex) for a successful observe. */
  token: z.string().optional(),
  error: z.string().max(2000).optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

/** Name of the command topic of one gateway instance (created by that gateway at start). */
export function commandTopicFor(gatewayId: string): string {
  return `dmp.commands.${gatewayId.replace(/[^a-zA-Z0-9._-]/g, '_')}.v1`;
}

/** A message that could not be processed after bounded retries, with the reason. */
export const DeadLetter = z.object({
  v: z.literal(1),
  sourceTopic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string().nullable(),
  /** Original value, base64. */
  value: z.string().nullable(),
  error: z.string(),
  attempts: z.number().int(),
  groupId: z.string(),
  ts: z.number().int(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const Topics = {
  deviceEvents: defineTopic({
    name: 'dmp.device-events.v1',
    version: 1,
    description: 'Registration lifecycle (registered, updated, deregistered, awake, offline) keyed by EPI',
    partitions: 12,
    retentionMs: 7 * DAY,
    cleanupPolicy: 'delete',
    key: Epi,
    value: DeviceEvent,
  }),
  data: defineTopic({
    name: 'dmp.data.v1',
    version: 1,
    description: 'Resource values from devices (notify, read results, send) keyed by EPI',
    partitions: 12,
    retentionMs: 3 * DAY,
    cleanupPolicy: 'delete',
    key: Epi,
    value: DataEvent,
  }),
  commandResults: defineTopic({
    name: 'dmp.command-results.v1',
    version: 1,
    description: 'Outcome of every device command (success with content, CoAP error, timeout, unreachable), keyed by EPI',
    partitions: 12,
    retentionMs: DAY,
    cleanupPolicy: 'delete',
    key: Epi,
    value: CommandResult,
  }),
  deviceState: defineTopic({
    name: 'dmp.device-state.v1',
    version: 1,
    description: 'Derived by the registry: activation (first registration) and state transitions (ONLINE/OFFLINE/DEREGISTERED), keyed by EPI',
    partitions: 12,
    retentionMs: 7 * DAY,
    cleanupPolicy: 'delete',
    key: Epi,
    value: DeviceStateEvent,
  }),
  deadLetter: defineTopic({
    name: 'dmp.dead-letter.v1',
    version: 1,
    description: 'Messages that failed processing after bounded retries, with the reason',
    partitions: 3,
    retentionMs: 14 * DAY,
    cleanupPolicy: 'delete',
    key: z.string().nullable(),
    value: DeadLetter,
  }),
} as const satisfies Record<string, TopicSpec>;

/** Settings of the per-gateway command topics (`commandTopicFor(id)`), created by each gateway at start. */
export const COMMAND_TOPIC = {
  partitions: 3,
  retentionMs: 3600 * 1000,
  cleanupPolicy: 'delete' as const,
  key: Epi,
  value: DeviceCommand,
};

/** Every topic created by `npm start` / the deploy Job (per-gateway command topics are created by each gateway). */
export const TOPIC_CATALOGUE: readonly TopicSpec[] = Object.values(Topics);
