/**
 * CoAP response code → typed LwM2M outcome (spec tables 8-5 … 8-17: 2.01 Created,
 * 2.02 Deleted, 2.04 Changed, 2.05 Content; 4.00, 4.01, 4.03, 4.04, 4.05, 4.06, 4.08,
 * 4.12, 4.13, 4.15; 5.xx).
 */
import type { CodecOptions, ContentFormatRegistry } from './content-format';
import { Lwm2mCodecError, LinkFormatError } from './errors';
import { parseLinkFormat, type Link } from './link-format';
import type { ModelProvider } from './model/types';
import type { LwM2mNode } from './node';
import type { Lwm2mRequest, OperationKind } from './operations';

export type ResponseStatus =
  | 'CREATED'
  | 'DELETED'
  | 'VALID'
  | 'CHANGED'
  | 'CONTENT'
  | 'CONTINUE'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'BAD_OPTION'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'REQUEST_ENTITY_INCOMPLETE'
  | 'PRECONDITION_FAILED'
  | 'REQUEST_ENTITY_TOO_LARGE'
  | 'UNSUPPORTED_CONTENT_FORMAT'
  | 'INTERNAL_SERVER_ERROR'
  | 'NOT_IMPLEMENTED'
  | 'BAD_GATEWAY'
  | 'SERVICE_UNAVAILABLE'
  | 'GATEWAY_TIMEOUT'
  | 'PROXYING_NOT_SUPPORTED'
  | 'UNKNOWN';

const STATUS: Readonly<Record<string, ResponseStatus>> = {
  '2.01': 'CREATED',
  '2.02': 'DELETED',
  '2.03': 'VALID',
  '2.04': 'CHANGED',
  '2.05': 'CONTENT',
  '2.31': 'CONTINUE',
  '4.00': 'BAD_REQUEST',
  '4.01': 'UNAUTHORIZED',
  '4.02': 'BAD_OPTION',
  '4.03': 'FORBIDDEN',
  '4.04': 'NOT_FOUND',
  '4.05': 'METHOD_NOT_ALLOWED',
  '4.06': 'NOT_ACCEPTABLE',
  '4.08': 'REQUEST_ENTITY_INCOMPLETE',
  '4.12': 'PRECONDITION_FAILED',
  '4.13': 'REQUEST_ENTITY_TOO_LARGE',
  '4.15': 'UNSUPPORTED_CONTENT_FORMAT',
  '5.00': 'INTERNAL_SERVER_ERROR',
  '5.01': 'NOT_IMPLEMENTED',
  '5.02': 'BAD_GATEWAY',
  '5.03': 'SERVICE_UNAVAILABLE',
  '5.04': 'GATEWAY_TIMEOUT',
  '5.05': 'PROXYING_NOT_SUPPORTED',
};

/** Expected success code per operation (spec tables). */
export const SUCCESS_CODE: Readonly<Record<OperationKind, string>> = {
  read: '2.05',
  discover: '2.05',
  'write-replace': '2.04',
  'write-update': '2.04',
  'write-attributes': '2.04',
  execute: '2.04',
  create: '2.01',
  delete: '2.02',
  observe: '2.05',
  'cancel-observe': '2.05',
  'bootstrap-write': '2.04',
  'bootstrap-delete': '2.02',
  'bootstrap-discover': '2.05',
  'bootstrap-finish': '2.04',
};

/** "c.dd" text of a CoAP code given as a number (class << 5 | detail), "c.dd" text or {codeClass, detail}. */
export function coapCodeText(code: number | string | { codeClass: number; detail: number }): string {
  let cls: number;
  let det: number;
  if (typeof code === 'number') {
    cls = code >>> 5;
    det = code & 31;
  } else if (typeof code === 'string') {
    const m = /^([0-7])\.([0-3][0-9])$/.exec(code.trim());
    if (!m) return code;
    cls = Number(m[1]);
    det = Number(m[2]);
  } else {
    cls = code.codeClass;
    det = code.detail;
  }
  return `${cls}.${String(det).padStart(2, '0')}`;
}

export function responseStatus(code: number | string | { codeClass: number; detail: number }): ResponseStatus {
  return STATUS[coapCodeText(code)] ?? 'UNKNOWN';
}

export type Lwm2mOutcome =
  /** The expected success code; `node` for Read/Observe payloads, `links` for Discover, `location` for Create. */
  | { kind: 'success'; code: string; status: ResponseStatus; node?: LwM2mNode; links?: Link[]; location?: string[]; observe?: boolean }
  /** A 4.xx / 5.xx error. */
  | { kind: 'failure'; code: string; status: ResponseStatus; message?: string }
  /** A success code other than the one the operation expects (e.g. 2.04 to a Read). */
  | { kind: 'unexpected'; code: string; status: ResponseStatus }
  /** Expected success code but the payload could not be decoded. */
  | { kind: 'invalid-payload'; code: string; status: ResponseStatus; error: Lwm2mCodecError | LinkFormatError };

export interface ResponseInput {
  code: number | string | { codeClass: number; detail: number };
  contentFormat?: number;
  payload?: Uint8Array;
  /** Observe option present in the response. */
  observe?: number;
  /** Location-Path options (Create). */
  locationPath?: string[];
}

export interface ResponseContext {
  models: ModelProvider;
  formats: ContentFormatRegistry;
  codecOptions?: CodecOptions;
}

/**
 * Interpret a response to `request`: maps the code, and for a 2.05 with payload decodes it
 * (Read / Observe: node via the content-format registry; Discover: links). Never throws
 * for bad payloads: they become `invalid-payload`.
 */
export function interpretResponse(request: Pick<Lwm2mRequest, 'operation' | 'path' | 'accept'>, response: ResponseInput, ctx: ResponseContext): Lwm2mOutcome {
  const code = coapCodeText(response.code);
  const status = responseStatus(code);
  if (code.startsWith('4.') || code.startsWith('5.')) {
    const message = response.payload && response.payload.length > 0 && response.payload.length <= 1024 ? Buffer.from(response.payload).toString('utf8') : undefined;
    return message !== undefined ? { kind: 'failure', code, status, message } : { kind: 'failure', code, status };
  }
  if (code !== SUCCESS_CODE[request.operation]) return { kind: 'unexpected', code, status };
  const out: { kind: 'success'; code: string; status: ResponseStatus; node?: LwM2mNode; links?: Link[]; location?: string[]; observe?: boolean } = {
    kind: 'success',
    code,
    status,
  };
  if (request.operation === 'observe') out.observe = response.observe !== undefined;
  if (request.operation === 'create' && response.locationPath) out.location = response.locationPath;
  const payload = response.payload;
  if (code === '2.05' && payload && payload.length > 0) {
    try {
      if (request.operation === 'discover' || request.operation === 'bootstrap-discover') {
        out.links = parseLinkFormat(payload);
      } else {
        const format = response.contentFormat ?? request.accept;
        if (format === undefined) throw new Lwm2mCodecError('UNSUPPORTED_FORMAT', 'response has no Content-Format');
        out.node = ctx.formats.decode(format, payload, request.path, ctx.models, ctx.codecOptions);
      }
    } catch (e) {
      if (e instanceof Lwm2mCodecError || e instanceof LinkFormatError) return { kind: 'invalid-payload', code, status, error: e };
      return { kind: 'invalid-payload', code, status, error: new Lwm2mCodecError('INVALID_STRUCTURE', String(e)) };
    }
  }
  return out;
}
