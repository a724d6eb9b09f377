import { ApiExcludeController } from '@nestjs/swagger';
import { Controller, Get, Header, Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { KIT_OPTIONS } from './tokens';
import type { ServiceKitOptions } from './options';

/**
 * The service's own prom-client registry (never the global one, so that several
 * services or test apps in one process do not collide). Default process metrics carry
 * the `dmp_` prefix; every series has the label service=<name>. Device ids (EPI) must
 * never be used as label values.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  constructor(@Inject(KIT_OPTIONS) opts: ServiceKitOptions) {
    this.registry.setDefaultLabels({ service: opts.service });
    collectDefaultMetrics({ register: this.registry, prefix: 'dmp_' });
  }
}

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
