/**
 * Typed errors of @dmp/lwm2m. Every parser / decoder in this library throws only
 * these (never a RangeError, TypeError, ...), so callers can map them to CoAP
 * 4.00 / 4.15 responses without guessing.
 */

/** Why a payload could not be decoded (or a node could not be encoded). */
export type Lwm2mCodecErrorReason =
  /** Input ends before a declared header / length / value. */
  | 'TRUNCATED'
  /** A declared length exceeds its container or the remaining input. */
  | 'LENGTH_OVERFLOW'
  /** Containers nested deeper than the format / configured limit allows. */
  | 'NESTING_TOO_DEEP'
  /** Resource not in the object model and the decoder is strict. */
  | 'UNKNOWN_RESOURCE'
  /** Object not known to the model provider and the decoder is strict. */
  | 'UNKNOWN_OBJECT'
  /** Bytes / text not valid for the resource's data type (or value out of range). */
  | 'INVALID_VALUE'
  /** Payload larger than the configured cap. */
  | 'PAYLOAD_TOO_LARGE'
  /** Structure does not fit the target path (e.g. wrong ids, resource where instance expected). */
  | 'INVALID_STRUCTURE'
  /** The format cannot represent this path / node (e.g. text/plain for an object instance). */
  | 'UNSUPPORTED_PATH'
  /** No codec registered for this content format. */
  | 'UNSUPPORTED_FORMAT';

export class Lwm2mCodecError extends Error {
  override readonly name = 'Lwm2mCodecError';
  constructor(
    readonly reason: Lwm2mCodecErrorReason,
    message: string,
    /** Byte offset in the payload where the problem was detected, when known. */
    readonly offset?: number,
  ) {
    super(`${reason}: ${message}${offset !== undefined ? ` (at byte ${offset})` : ''}`);
  }
}

export type LwM2mPathErrorReason = 'EMPTY' | 'SYNTAX' | 'ID_OUT_OF_RANGE' | 'TOO_DEEP';

/** Bad LwM2M path text or ids. */
export class LwM2mPathError extends Error {
  override readonly name = 'LwM2mPathError';
  constructor(
    readonly reason: LwM2mPathErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export type ObjectModelErrorReason = 'MALFORMED_XML' | 'INVALID_MODEL' | 'IO';

/** Malformed / invalid DDF XML (or unreadable model file). */
export class ObjectModelError extends Error {
  override readonly name = 'ObjectModelError';
  constructor(
    readonly reason: ObjectModelErrorReason,
    message: string,
    /** File the model came from, when known. */
    readonly source?: string,
  ) {
    super(source ? `${message} (${source})` : message);
  }
}

export type LinkFormatErrorReason = 'SYNTAX' | 'TOO_LARGE' | 'TOO_MANY_LINKS';

/** Malformed RFC 6690 link-format text. */
export class LinkFormatError extends Error {
  override readonly name = 'LinkFormatError';
  constructor(
    readonly reason: LinkFormatErrorReason,
    message: string,
    readonly offset?: number,
  ) {
    super(`${reason}: ${message}${offset !== undefined ? ` (at char ${offset})` : ''}`);
  }
}

export type RegistrationErrorReason =
  | 'MISSING_ENDPOINT'
  | 'INVALID_ENDPOINT'
  | 'INVALID_LIFETIME'
  | 'INVALID_BINDING'
  | 'INVALID_VERSION'
  | 'INVALID_QUERY'
  | 'INVALID_LINKS'
  | 'INVALID_PCT';

/** Malformed Register / Update / Bootstrap-Request parameters or object links. */
export class RegistrationError extends Error {
  override readonly name = 'RegistrationError';
  constructor(
    readonly reason: RegistrationErrorReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

export type OperationErrorReason =
  | 'INVALID_PATH'
  | 'NOT_READABLE'
  | 'NOT_WRITABLE'
  | 'NOT_EXECUTABLE'
  | 'UNKNOWN_OBJECT'
  | 'UNKNOWN_RESOURCE'
  | 'INVALID_ATTRIBUTES'
  | 'INVALID_ARGUMENTS'
  | 'UNSUPPORTED_FORMAT'
  | 'INVALID_NODE';

/** A request could not be built (validated against the model before building). */
export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(
    readonly reason: OperationErrorReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}
