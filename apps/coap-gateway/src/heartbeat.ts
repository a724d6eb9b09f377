import type { Redis } from '@dmp/redis';
import type { Counter } from 'prom-client';

/** Redis key of a gateway instance's heartbeat (read by the command service before routing). */
export const heartbeatKey = (gatewayId: string): string => `dmp:gw:${gatewayId}`;

/**
 * Liveness of this gateway instance for the services that route commands to it: the key
 * `dmp:gw:{id}` is refreshed every `intervalMs` with a TTL of 3 intervals, so an instance
 * that vanished (kill -9, host lost) disappears from Redis after at most 3 intervals and
 * its devices' commands wait for their next uplink through another instance instead of
 * going to a topic nobody consumes. A graceful stop deletes the key at once.
 */
export class GatewayHeartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly gatewayId: string,
    private readonly intervalMs: number,
    private readonly beats: Counter<'outcome'>,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Writes the first beat (so the instance is routable as soon as start resolves), then one per interval. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.redis.set(heartbeatKey(this.gatewayId), String(Date.now()), 'PX', this.intervalMs * 3);
      this.beats.inc({ outcome: 'ok' });
    } catch (e) {
      // a missed beat is not fatal: two more fit in the TTL
      this.beats.inc({ outcome: 'error' });
      this.onError(e);
    }
  }

  /** Graceful shutdown: no longer routable from now on. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.del(heartbeatKey(this.gatewayId)).catch((e: unknown) => this.onError(e));
  }
}
