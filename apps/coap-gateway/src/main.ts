// CoAP edge gateway (issue 4): LwM2M registration interface, notifications and downlink.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfigOrExit } from '@dmp/config';
import { ServiceKitModule, serviceUrl, startService } from '@dmp/service-kit';
import { gatewayEnv } from './config';
import { GATEWAY_SCRIPTS } from './registration-store';
import { GatewayRuntime } from './runtime';

const config = loadConfigOrExit('coap-gateway', gatewayEnv);

@Module({
  imports: [ServiceKitModule.forRoot({ service: 'coap-gateway', config, kafka: true, redis: { scripts: GATEWAY_SCRIPTS } })],
  providers: [GatewayRuntime],
})
class GatewayModule {}

void startService({ module: GatewayModule, config }).then(async (app) => {
  // machine-readable line for tests and scripts (HTTP_PORT may be 0)
  process.stdout.write(`HTTP LISTENING ${await serviceUrl(app)}\n`);
});
