/**
 * CON retransmission schedule and derived time values (RFC 7252 §4.2, §4.8, §4.8.2).
 */
import {
  DEFAULT_ACK_RANDOM_FACTOR,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_LEISURE_MS,
  DEFAULT_MAX_RETRANSMIT,
  DEFAULT_NSTART,
  DEFAULT_PROBING_RATE,
  MAX_LATENCY_MS,
} from './constants';
import { RandomSource } from './ids';

export interface TransmissionParams {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  nstart: number;
  defaultLeisureMs: number;
  probingRate: number;
  /** MAX_LATENCY (not a tunable in the RFC, kept here so derived values can be computed). */
  maxLatencyMs: number;
}

export const DEFAULT_TRANSMISSION_PARAMS: Readonly<TransmissionParams> = Object.freeze({
  ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS,
  ackRandomFactor: DEFAULT_ACK_RANDOM_FACTOR,
  maxRetransmit: DEFAULT_MAX_RETRANSMIT,
  nstart: DEFAULT_NSTART,
  defaultLeisureMs: DEFAULT_LEISURE_MS,
  probingRate: DEFAULT_PROBING_RATE,
  maxLatencyMs: MAX_LATENCY_MS,
});

export function transmissionParams(p: Partial<TransmissionParams> = {}): TransmissionParams {
  const r = { ...DEFAULT_TRANSMISSION_PARAMS, ...p };
  if (!(r.ackTimeoutMs > 0)) throw new RangeError('ackTimeoutMs must be > 0');
  if (!(r.ackRandomFactor >= 1)) throw new RangeError('ackRandomFactor must be >= 1 (RFC 7252 §4.8)');
  if (!Number.isInteger(r.maxRetransmit) || r.maxRetransmit < 0) throw new RangeError('maxRetransmit must be an integer >= 0');
  return r;
}

/** Derived time values (RFC 7252 §4.8.2), in milliseconds. */
export interface DerivedTimes {
  maxTransmitSpanMs: number;
  maxTransmitWaitMs: number;
  processingDelayMs: number;
  maxRttMs: number;
  exchangeLifetimeMs: number;
  nonLifetimeMs: number;
}

export function derivedTimes(p: Partial<TransmissionParams> = {}): DerivedTimes {
  const t = transmissionParams(p);
  const maxTransmitSpanMs = t.ackTimeoutMs * (2 ** t.maxRetransmit - 1) * t.ackRandomFactor;
  const maxTransmitWaitMs = t.ackTimeoutMs * (2 ** (t.maxRetransmit + 1) - 1) * t.ackRandomFactor;
  const processingDelayMs = t.ackTimeoutMs;
  const maxRttMs = 2 * t.maxLatencyMs + processingDelayMs;
  return {
    maxTransmitSpanMs,
    maxTransmitWaitMs,
    processingDelayMs,
    maxRttMs,
    exchangeLifetimeMs: maxTransmitSpanMs + 2 * t.maxLatencyMs + processingDelayMs,
    nonLifetimeMs: maxTransmitSpanMs + t.maxLatencyMs,
  };
}

/**
 * Timeouts of one CON exchange: element 0 is the wait after the first transmission (random in
 * [ACK_TIMEOUT, ACK_TIMEOUT*ACK_RANDOM_FACTOR]); each next one doubles; there are
 * MAX_RETRANSMIT + 1 elements, the last being the wait after the final retransmission before
 * giving up. Their sum is at most MAX_TRANSMIT_WAIT.
 */
export function retransmissionSchedule(p: Partial<TransmissionParams> = {}, random: RandomSource = Math.random): number[] {
  const t = transmissionParams(p);
  const first = t.ackTimeoutMs * (1 + random() * (t.ackRandomFactor - 1));
  const out: number[] = [];
  for (let i = 0; i <= t.maxRetransmit; i++) out.push(first * 2 ** i);
  return out;
}

/**
 * State of one outstanding CON message. Call {@link initialTimeout} after the first send; on each
 * timeout call {@link onTimeout}: it returns the next timeout after retransmitting, or undefined
 * when the exchange has failed (MAX_RETRANSMIT reached).
 */
export class RetransmissionState {
  private readonly max: number;
  private timeout: number;
  /** Timeout to arm after the initial transmission, in [ACK_TIMEOUT, ACK_TIMEOUT*ACK_RANDOM_FACTOR]. */
  readonly initialTimeout: number;
  /** Number of retransmissions done so far. */
  retransmissions = 0;

  constructor(p: Partial<TransmissionParams> = {}, random: RandomSource = Math.random) {
    const t = transmissionParams(p);
    this.max = t.maxRetransmit;
    this.initialTimeout = t.ackTimeoutMs * (1 + random() * (t.ackRandomFactor - 1));
    this.timeout = this.initialTimeout;
  }

  /** Current timeout (the one armed now). */
  get currentTimeout(): number {
    return this.timeout;
  }

  /** Timeout fired: returns the next timeout if the caller must retransmit now, else undefined (give up). */
  onTimeout(): number | undefined {
    if (this.retransmissions >= this.max) return undefined;
    this.retransmissions++;
    this.timeout *= 2;
    return this.timeout;
  }

  get exhausted(): boolean {
    return this.retransmissions >= this.max;
  }
}
