import type { DeviceEvent, DeviceState } from '@dmp/contracts';

/** What the directory knows of a device's state before an event is applied. */
export interface CurrentState {
  state: DeviceState | null;
  /** Time of the event that set `state` (epoch ms). */
  since: number | null;
  /** Id of that event (a replay of it must not count as a second transition). */
  eventId: string | null;
  /** Time of the last registered / updated / de-registered / awake event. */
  lastSeen: number | null;
}

export type TransitionReason = 'registered' | 'updated' | 'deregistered' | 'lifetime-timeout';

export interface Decision {
  /** Target state of the event, if it has one. */
  to?: DeviceState;
  reason?: TransitionReason;
  /** Write a history row (from → to) for this event. */
  record: boolean;
  /** Change the current state (directory row) and publish `state-changed`. */
  apply: boolean;
  /** The event was already applied (same event id): re-publish its `state-changed` only. */
  replay: boolean;
}

/**
 * Device state machine (R-REG-4, R-UPD-1, R-DEREG-1, R-OFF-1):
 *
 *   (none) ──registered──▶ ONLINE ◀──registered/updated── OFFLINE / DEREGISTERED
 *   ONLINE ──lifetime timeout──▶ OFFLINE        ONLINE ──de-register──▶ DEREGISTERED
 *
 * An event older than the current state (`ts` < `since`) does not change the current state.
 * A timeout whose deadline is older than the device's last contact is stale: the device
 * registered again after the registration was removed (the `offline` event raced the
 * gateway's `registered` into Kafka); it is recorded in the history at its own time but
 * does not make the device OFFLINE. A transition to the same state is not a transition.
 */
export function decide(cur: CurrentState, ev: DeviceEvent): Decision {
  const none: Decision = { record: false, apply: false, replay: false };
  let to: DeviceState;
  let reason: TransitionReason;
  switch (ev.type) {
    case 'registered':
      to = 'ONLINE';
      reason = 'registered';
      break;
    case 'updated':
      to = 'ONLINE';
      reason = 'updated';
      break;
    case 'deregistered':
      to = 'DEREGISTERED';
      reason = 'deregistered';
      break;
    case 'offline':
      to = 'OFFLINE';
      reason = 'lifetime-timeout';
      break;
    default:
      return none;
  }
  if (cur.eventId !== null && cur.eventId === ev.eventId) return { to, reason, record: false, apply: false, replay: true };
  const older = cur.since !== null && ev.ts < cur.since;
  const staleTimeout = ev.type === 'offline' && cur.lastSeen !== null && cur.lastSeen > ev.deadline;
  if (older || staleTimeout) return { to, reason, record: ev.type === 'offline' && cur.state !== to, apply: false, replay: false };
  if (cur.state === to) return { to, reason, ...none };
  return { to, reason, record: true, apply: true, replay: false };
}
