/**
 * @dmp/coap — CoAP (RFC 7252, RFC 7641, RFC 7959) codec and transport-free message-layer helpers.
 */
export * from './constants';
export * from './errors';
export * from './options';
export { CoapMessage } from './message';
export type { CoapMessageInit, CoapOption } from './message';
export { decode, tryDecode, encode, encodeInto, encodedLength } from './codec';
export type { DecodeOptions, DecodeResult } from './codec';
export * from './build';
export * from './ids';
export * from './transmission';
export * from './dedup';
export * from './observe';
export * from './block';
