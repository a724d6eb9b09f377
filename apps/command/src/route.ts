// Where an operation goes when it is submitted: sent to the owning gateway now, put in the
// device's queue, or refused. Pure, so the rules are unit-tested apart from Redis and Kafka.
import type { Registration } from './store';

export type QueueReason = 'device-offline' | 'device-asleep' | 'gateway-unavailable';

export type Route =
  | { kind: 'send'; gatewayId: string }
  | { kind: 'queue'; reason: QueueReason }
  | { kind: 'refuse'; status: 409; reason: QueueReason; message: string };

export interface RouteInput {
  epi: string;
  reg: Registration | undefined;
  now: number;
  /** The body's `queue`: undefined when not given (it matters only for a vanished gateway). */
  queue: boolean | undefined;
  awakeWindowMs: number;
  /** The gateway that owns the registration refreshes its heartbeat (`dmp:gw:{id}`). */
  gatewayAlive: boolean;
}

/**
 * - offline (no registration or past its deadline): queued with `queue: true`, else 409;
 * - queue mode (UQ) and silent for longer than the awake window: queued, whatever `queue` says;
 * - the owning gateway vanished (no heartbeat): queued until the device's next uplink through
 *   another gateway, unless the caller said `queue: false` explicitly (409): a live device
 *   usually comes back within its update period, and a caller that gave no preference gets the
 *   same answer as for a sleeping device (202 QUEUED) instead of a failure it cannot act on;
 * - otherwise sent now.
 */
export function route(i: RouteInput): Route {
  const reg = i.reg;
  if (!reg || reg.deadline < i.now) {
    if (i.queue === true) return { kind: 'queue', reason: 'device-offline' };
    return { kind: 'refuse', status: 409, reason: 'device-offline', message: `device ${i.epi} is offline (send with "queue": true to queue the operation)` };
  }
  if (reg.queueMode && i.now - reg.lastSeen > i.awakeWindowMs) return { kind: 'queue', reason: 'device-asleep' };
  if (!i.gatewayAlive) {
    if (i.queue === false) {
      return {
        kind: 'refuse',
        status: 409,
        reason: 'gateway-unavailable',
        message: `gateway ${reg.gatewayId} of device ${i.epi} is gone (no heartbeat); send without "queue": false to queue the operation until the device's next uplink`,
      };
    }
    return { kind: 'queue', reason: 'gateway-unavailable' };
  }
  return { kind: 'send', gatewayId: reg.gatewayId };
}
