// CoAP edge gateway (issue 4): LwM2M registration interface, notifications and downlink.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfigOrExit } from '@dmp/config';
import { runService, ServiceKitModule } from '@dmp/service-kit';
import { gatewayEnv } from './config';
import { GATEWAY_SCRIPTS } from './registration-store';
import { GatewayRuntime } from './runtime';

const config = loadConfigOrExit('coap-gateway', gatewayEnv);

@Module({
  imports: [ServiceKitModule.forRoot({ service: 'coap-gateway', config, kafka: true, redis: { scripts: GATEWAY_SCRIPTS } })],
  providers: [GatewayRuntime],
})
class GatewayModule {}

runService('coap-gateway', { module: GatewayModule, config });
