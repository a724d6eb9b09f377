import { BadRequestException, Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Epi } from '@dmp/contracts';
import { regionLabel } from './geo';
import { regKeys, splitAddress } from './redis-layout';
import { RegistryService } from './registry.service';

class RegionDto {
  @ApiProperty() country!: string;
  @ApiProperty() province!: string;
  @ApiProperty() city!: string;
  @ApiProperty() isp!: string;
  @ApiProperty({ description: '`country|province|city|isp` or `unknown` (private / loopback addresses)' }) label!: string;
}

class AddressDto {
  @ApiProperty() ip!: string;
  @ApiProperty() port!: number;
}

class LiveRegistrationDto {
  @ApiProperty({ description: 'Location as returned to the device (`EPI;version`)' }) location!: string;
  @ApiProperty({ type: AddressDto, nullable: true }) address!: AddressDto | null;
  @ApiProperty({ description: 'Gateway instance owning the registration' }) gatewayId!: string;
  @ApiProperty({ description: 'Lifetime, seconds' }) lifetime!: number;
  @ApiProperty({ description: 'Deadline, epoch ms' }) deadline!: number;
  @ApiProperty() registeredAt!: number;
  @ApiProperty() updatedAt!: number;
  @ApiProperty() lwm2mVersion!: string;
  @ApiProperty() binding!: string;
  @ApiProperty() queueMode!: boolean;
  @ApiProperty({ description: 'Object links (link-format) as registered' }) links!: string;
}

class ActivationDto {
  @ApiProperty({ description: 'Activation time, epoch ms' }) activatedAt!: number;
  @ApiProperty() eventId!: string;
  @ApiProperty({ description: 'Endpoint name (EPN) of the first registration' }) endpoint!: string;
  @ApiPropertyOptional() form?: string;
  @ApiPropertyOptional() cmei?: string;
  @ApiPropertyOptional() imei?: string;
  @ApiPropertyOptional() imei2?: string;
  @ApiPropertyOptional() imsi?: string;
  @ApiPropertyOptional() version?: string;
  @ApiPropertyOptional() appKey?: string;
  @ApiPropertyOptional() brand?: string;
  @ApiPropertyOptional() model?: string;
  @ApiPropertyOptional() terminalType?: string;
  @ApiProperty({ type: AddressDto }) source!: AddressDto;
  @ApiProperty() gatewayId!: string;
  @ApiProperty({ type: RegionDto, description: 'Activation location (R-ACT-1)' }) region!: RegionDto;
}

class TransitionDto {
  @ApiProperty({ description: 'epoch ms' }) at!: number;
  @ApiProperty() eventId!: string;
  @ApiProperty({ nullable: true, enum: ['ONLINE', 'OFFLINE', 'DEREGISTERED'] }) from!: string | null;
  @ApiProperty({ enum: ['ONLINE', 'OFFLINE', 'DEREGISTERED'] }) to!: string;
  @ApiProperty({ enum: ['registered', 'updated', 'deregistered', 'lifetime-timeout'] }) reason!: string;
  @ApiProperty({ nullable: true }) gatewayId!: string | null;
  @ApiProperty({ type: AddressDto, nullable: true }) address!: AddressDto | null;
}

class DirectoryDto {
  @ApiProperty({ enum: ['ONLINE', 'OFFLINE', 'DEREGISTERED'], nullable: true }) state!: string | null;
  @ApiProperty({ nullable: true }) stateSince!: number | null;
  @ApiProperty({ nullable: true }) firstSeen!: number | null;
  @ApiProperty({ nullable: true }) lastSeen!: number | null;
  @ApiProperty({ type: AddressDto, nullable: true }) lastAddress!: AddressDto | null;
  @ApiProperty({ nullable: true }) gatewayId!: string | null;
  @ApiProperty({ nullable: true }) endpoint!: string | null;
  @ApiProperty({ nullable: true }) cmei!: string | null;
  @ApiProperty({ nullable: true }) imei!: string | null;
  @ApiProperty({ nullable: true }) imsi!: string | null;
  @ApiProperty({ nullable: true }) dmVersion!: string | null;
  @ApiProperty({ nullable: true }) appKey!: string | null;
  @ApiProperty({ nullable: true }) brand!: string | null;
  @ApiProperty({ nullable: true }) model!: string | null;
  @ApiProperty({ type: RegionDto }) region!: RegionDto;
  @ApiProperty({ nullable: true }) lifetime!: number | null;
  @ApiProperty({ nullable: true }) lwm2mVersion!: string | null;
  @ApiProperty({ nullable: true }) binding!: string | null;
  @ApiProperty({ type: [String], description: 'Objects / instances from the object links' }) objects!: string[];
}

export class DeviceViewDto {
  @ApiProperty() epi!: string;
  @ApiProperty({ type: DirectoryDto, nullable: true }) directory!: DirectoryDto | null;
  @ApiProperty({ type: LiveRegistrationDto, nullable: true, description: 'Live registration in Redis; null when not registered' }) registration!: LiveRegistrationDto | null;
  @ApiProperty({ type: ActivationDto, nullable: true }) activation!: ActivationDto | null;
  @ApiProperty({ type: [TransitionDto], description: 'Last 20 state transitions, newest first' }) history!: TransitionDto[];
}

const s = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const n = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const region = (c: unknown, p: unknown, ci: unknown, i: unknown) => {
  const r = { country: s(c) ?? '', province: s(p) ?? '', city: s(ci) ?? '', isp: s(i) ?? '' };
  return { ...r, label: regionLabel(r) };
};

@ApiTags('devices')
@Controller('devices')
export class DevicesController {
  constructor(private readonly registry: RegistryService) {}

  @Get(':epi')
  @ApiOperation({ summary: 'One device: directory row, live registration, activation record and the last 20 state transitions' })
  @ApiParam({ name: 'epi', description: 'End Point Identity (CMEI+IMEI, CMEI or IMEI)', example: '490154203237518' })
  @ApiOkResponse({ type: DeviceViewDto })
  @ApiBadRequestResponse({ description: 'Malformed EPI' })
  @ApiNotFoundResponse({ description: 'Unknown EPI' })
  async get(@Param('epi') epi: string): Promise<DeviceViewDto> {
    if (!Epi.safeParse(epi).success) throw new BadRequestException('EPI must be 8-64 letters or digits');
    const dir = this.registry.directory;
    const redis = this.registry.redis;
    const [row, activation, history, h, links] = await Promise.all([
      dir.device(epi),
      dir.activation(epi),
      dir.history(epi, 20),
      redis.hgetall(regKeys.reg(epi)),
      redis.get(regKeys.links(epi)),
    ]);
    const live = h['dl'] !== undefined;
    if (!row && !activation && !live) throw new NotFoundException(`no device ${epi}`);
    return {
      epi,
      directory: row
        ? {
            state: s(row['state']),
            stateSince: n(row['state_since']),
            firstSeen: n(row['first_seen']),
            lastSeen: n(row['last_seen']),
            lastAddress: s(row['last_ip']) !== null ? { ip: s(row['last_ip'])!, port: n(row['last_port']) ?? 0 } : null,
            gatewayId: s(row['gateway_id']),
            endpoint: s(row['endpoint']),
            cmei: s(row['cmei']),
            imei: s(row['imei']),
            imsi: s(row['imsi']),
            dmVersion: s(row['dm_version']),
            appKey: s(row['app_key']),
            brand: s(row['brand']),
            model: s(row['model']),
            region: region(row['region_country'], row['region_province'], row['region_city'], row['region_isp']),
            lifetime: n(row['lifetime']),
            lwm2mVersion: s(row['lwm2m_version']),
            binding: s(row['binding']),
            objects: Array.isArray(row['objects']) ? (row['objects'] as string[]) : [],
          }
        : null,
      registration: live
        ? {
            location: h['loc'] ?? epi,
            address: h['a'] ? (splitAddress(h['a']) ?? null) : null,
            gatewayId: h['gw'] ?? '',
            lifetime: Number(h['lt']),
            deadline: Number(h['dl']),
            registeredAt: Number(h['rt']),
            updatedAt: Number(h['ut']),
            lwm2mVersion: h['v'] ?? '1.0',
            binding: h['b'] ?? 'U',
            queueMode: h['q'] === '1',
            links: links ?? '',
          }
        : null,
      activation: activation
        ? {
            activatedAt: activation.activatedAt,
            eventId: activation.eventId,
            endpoint: activation.endpoint,
            form: activation.form,
            cmei: activation.cmei,
            imei: activation.imei,
            imei2: activation.imei2,
            imsi: activation.imsi,
            version: activation.version,
            appKey: activation.appKey,
            brand: activation.brand,
            model: activation.model,
            terminalType: activation.terminalType,
            source: { ip: activation.sourceIp, port: activation.sourcePort },
            gatewayId: activation.gatewayId,
            region: { ...activation.region, label: regionLabel(activation.region) },
          }
        : null,
      history: history.map((t) => ({
        at: t.at,
        eventId: t.eventId,
        from: t.from,
        to: t.to,
        reason: t.reason,
        gatewayId: t.gatewayId,
        address: t.ip !== null ? { ip: t.ip, port: t.port ?? 0 } : null,
      })),
    };
  }
}
