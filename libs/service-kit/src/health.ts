import { ApiExcludeController } from '@nestjs/swagger';
import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { type CassandraClient, isCassandraReady } from '@dmp/cassandra';
import type { EventBus } from '@dmp/kafka';
import { isRedisReady, type Redis } from '@dmp/redis';
import { CASSANDRA, EVENT_BUS, REDIS } from './tokens';

/**
 * `/health/live`: the process and its event loop answer (no dependency checks, so a
 * broker outage never makes Kubernetes restart every pod).
 * `/health/ready`: every client this service uses is connected.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(EVENT_BUS) private readonly bus?: EventBus,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
    @Optional() @Inject(CASSANDRA) private readonly cassandra?: CassandraClient,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const checks: Array<() => HealthIndicatorResult> = [];
    const up = (key: string, ok: boolean, detail?: string): HealthIndicatorResult => {
      const s = this.indicators.check(key);
      return ok ? s.up() : s.down(detail ? { message: detail } : {});
    };
    const { bus, redis, cassandra } = this;
    if (bus) checks.push(() => up('kafka', bus.isConnected()));
    if (redis) checks.push(() => up('redis', isRedisReady(redis), redis.status));
    if (cassandra) checks.push(() => up('cassandra', isCassandraReady(cassandra)));
    return this.health.check(checks);
  }
}
