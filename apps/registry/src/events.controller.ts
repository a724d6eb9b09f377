import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { type DeviceEvent, Topics } from '@dmp/contracts';
import { RegistryService } from './registry.service';

/** Consumes dmp.device-events.v1 (decoded and validated by the transport's `decode`). */
@Controller()
export class EventsController {
  constructor(private readonly registry: RegistryService) {}

  @EventPattern(Topics.deviceEvents.name)
  async onDeviceEvent(@Payload() ev: DeviceEvent): Promise<void> {
    await this.registry.lifecycle.apply(ev);
  }
}
