import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { type CommandResult, type DeviceEvent, Topics } from '@dmp/contracts';
import { CommandService } from './command.service';

/** Consumes command results (correlation) and device events (queue flush). */
@Controller()
export class EventsController {
  constructor(private readonly svc: CommandService) {}

  @EventPattern(Topics.commandResults.name)
  async onResult(@Payload() r: CommandResult): Promise<void> {
    await this.svc.onResult(r);
  }

  @EventPattern(Topics.deviceEvents.name)
  async onDeviceEvent(@Payload() ev: DeviceEvent): Promise<void> {
    await this.svc.onDeviceEvent(ev);
  }
}
