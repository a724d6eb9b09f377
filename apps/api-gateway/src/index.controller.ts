import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { KIT_OPTIONS, type ServiceKitOptions } from '@dmp/service-kit';
import type { ApiGatewayConfig } from './config';

class RouteStatus {
  @ApiProperty({ example: 'devices' }) prefix!: string;
  @ApiProperty({ example: 'http://127.0.0.1:8081' }) upstream!: string;
  @ApiProperty({ example: true }) ready!: boolean;
}

class ApiIndex {
  @ApiProperty({ example: 'dmp' }) name!: string;
  @ApiProperty({ example: '0.1.0' }) version!: string;
  @ApiProperty({ type: [RouteStatus] }) routes!: RouteStatus[];
}

@ApiTags('platform')
@ApiBearerAuth()
@Controller()
export class IndexController {
  constructor(@Inject(KIT_OPTIONS) private readonly kit: ServiceKitOptions & { config: ApiGatewayConfig }) {}

  /** What this API serves: the route prefixes and whether each upstream service is ready. */
  @Get()
  @ApiOkResponse({ type: ApiIndex })
  async index(): Promise<ApiIndex> {
    const routes = await Promise.all(
      Object.entries(this.kit.config.API_UPSTREAMS).map(async ([prefix, upstream]) => {
        const ready = await fetch(new URL('/health/ready', upstream), { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        return { prefix, upstream, ready };
      }),
    );
    return { name: 'dmp', version: process.env['npm_package_version'] ?? '0.1.0', routes };
  }
}
