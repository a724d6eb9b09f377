// The HTTP operation body (zod) and its translation into an LwM2M request with @dmp/lwm2m's
// builders: everything the object model forbids is refused here, before anything is sent.
import { z } from 'zod';
import type { DeviceCommand } from '@dmp/contracts';
import {
  cancelObserveRequest,
  ContentFormat,
  type ContentFormatRegistry,
  createRequest,
  deleteRequest,
  discoverRequest,
  executeRequest,
  LwM2mPath,
  type Lwm2mRequest,
  type ModelProvider,
  observeRequest,
  OperationError,
  readRequest,
  writeAttributesRequest,
  writeRequest,
} from '@dmp/lwm2m';
import { nodeFromJson, resourcesFromJson, ValueError } from './values';

export const OPS = ['read', 'write', 'write-partial', 'execute', 'create', 'delete', 'discover', 'write-attributes', 'observe', 'cancel-observe'] as const;
export type OpName = (typeof OPS)[number];

export const FORMATS = {
  tlv: ContentFormat.TLV,
  'senml-json': ContentFormat.SENML_JSON,
  'senml-cbor': ContentFormat.SENML_CBOR,
  text: ContentFormat.TEXT,
  opaque: ContentFormat.OPAQUE,
  'lwm2m-cbor': ContentFormat.LWM2M_CBOR,
} as const;

const attr = z.number().finite().nullable().optional();

export const OperationBody = z
  .object({
    op: z.enum(OPS),
    path: z.string().regex(/^(\/\d{1,5}){1,4}$/, 'path must look like /3/0/13'),
    format: z.enum(Object.keys(FORMATS) as [keyof typeof FORMATS, ...Array<keyof typeof FORMATS>]).optional(),
    value: z.unknown().optional(),
    args: z.string().max(4096).optional(),
    attributes: z.object({ pmin: attr, pmax: attr, gt: attr, lt: attr, st: attr }).strict().optional(),
    timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Queue when offline / unanswered; not given = queue only when the device's gateway vanished (see route.ts). */
    queue: z.boolean().optional(),
    /** Life of the command when it is queued (default COMMAND_QUEUE_TTL_MS). */
    expiresInMs: z.number().int().min(1000).max(30 * 86_400_000).optional(),
    /** cancel-observe: the observation's token (hex); default the only observation of `path`. */
    token: z.string().regex(/^([0-9a-f]{2}){1,8}$/).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const needsValue = b.op === 'write' || b.op === 'write-partial' || b.op === 'create';
    if (needsValue && b.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `${b.op} needs a value` });
    if (!needsValue && b.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `${b.op} takes no value` });
    if (b.op === 'write-attributes' && !b.attributes) ctx.addIssue({ code: 'custom', path: ['attributes'], message: 'write-attributes needs attributes' });
    if (b.args !== undefined && b.op !== 'execute') ctx.addIssue({ code: 'custom', path: ['args'], message: 'only execute takes args' });
  });
export type OperationBody = z.infer<typeof OperationBody>;

/** A request the model or the builders refuse (400). */
export class BadOperation extends Error {}

export interface BuildContext {
  models: ModelProvider;
  formats: ContentFormatRegistry;
  lwm2mVersion: string;
}

/** Body → LwM2M request (throws BadOperation with the reason). */
export function buildRequest(b: OperationBody, c: BuildContext): Lwm2mRequest {
  const ctx = { models: c.models, formats: c.formats, lwm2mVersion: c.lwm2mVersion };
  const format = b.format !== undefined ? FORMATS[b.format] : undefined;
  try {
    const path = LwM2mPath.parse(b.path);
    switch (b.op) {
      case 'read':
        return readRequest(ctx, path, { format });
      case 'observe':
        return observeRequest(ctx, path, { format });
      case 'cancel-observe':
        return cancelObserveRequest(ctx, path, { format });
      case 'discover':
        return discoverRequest(ctx, path);
      case 'write':
      case 'write-partial':
        if (b.op === 'write-partial' && path.depth !== 2) throw new BadOperation('write-partial targets an object instance (/o/i)');
        return writeRequest(ctx, path, nodeFromJson(c.models, path, b.value), { mode: b.op === 'write' ? 'replace' : 'update', format });
      case 'execute':
        return executeRequest(ctx, path, b.args);
      case 'create':
        if (path.depth > 2) throw new BadOperation('create targets an object (/o) or a new instance (/o/i)');
        return createRequest(ctx, path.objectId as number, resourcesFromJson(c.models, path.objectId as number, b.value), {
          format,
          ...(path.depth === 2 ? { instanceId: path.objectInstanceId as number } : {}),
        });
      case 'delete':
        return deleteRequest(ctx, path);
      case 'write-attributes':
        return writeAttributesRequest(ctx, path, b.attributes ?? {});
    }
  } catch (e) {
    if (e instanceof OperationError || e instanceof ValueError || e instanceof BadOperation) throw new BadOperation(e.message);
    if (e instanceof Error && e.name === 'LwM2mPathError') throw new BadOperation(e.message);
    throw e;
  }
}

/**
 * The `DeviceCommand` for a built request. Published without re-validation (hot path): every
 * field comes from a validated body and our builders, and build.spec checks the result
 * against the contract's schema for each operation.
 */
export function commandOf(
  o: { id: string; epi: string; now: number; body: OperationBody; token?: string; expiresAt?: number },
  req: Lwm2mRequest,
): DeviceCommand {
  return {
    v: 1,
    id: o.id,
    epi: o.epi,
    ts: o.now,
    operation: o.body.op,
    method: req.method,
    uriPath: req.uriPath,
    uriQuery: req.uriQuery,
    timeoutMs: o.body.timeoutMs,
    ...(req.contentFormat !== undefined ? { contentFormat: req.contentFormat } : {}),
    ...(req.accept !== undefined ? { accept: req.accept } : {}),
    ...(req.observe !== undefined ? { observe: req.observe } : {}),
    ...(o.token !== undefined && o.body.op === 'cancel-observe' ? { token: o.token } : {}),
    ...(req.payload ? { payload: Buffer.from(req.payload).toString('base64') } : {}),
    ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}),
  };
}
