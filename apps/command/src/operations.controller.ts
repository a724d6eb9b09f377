import { Body, Controller, Delete, Get, HttpException, NotFoundException, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { Epi } from '@dmp/contracts';
import { FORMATS, OperationBody, OPS } from './build';
import { CommandService, HttpFailure, type OperationView } from './command.service';
import { FINAL } from './store';

class AttributesDto {
  @ApiPropertyOptional() pmin?: number;
  @ApiPropertyOptional() pmax?: number;
  @ApiPropertyOptional() gt?: number;
  @ApiPropertyOptional() lt?: number;
  @ApiPropertyOptional() st?: number;
}

class OperationRequestDto {
  @ApiProperty({ enum: OPS }) op!: string;
  @ApiProperty({ example: '/3/0/13' }) path!: string;
  @ApiPropertyOptional({ enum: Object.keys(FORMATS), description: 'Content format (default: TLV for LwM2M 1.0, SenML CBOR for 1.1+)' }) format?: string;
  @ApiPropertyOptional({
    description: 'write / write-partial / create: JSON typed by the object model (opaque base64, objlnk {objectId, instanceId}, time epoch s; instance = {resourceId: value}, multiple resource = {instanceId: value})',
  })
  value?: unknown;
  @ApiPropertyOptional({ description: "execute arguments, e.g. 0='v',1" }) args?: string;
  @ApiPropertyOptional({ type: AttributesDto }) attributes?: AttributesDto;
  @ApiPropertyOptional({ default: 10000, description: 'Wait this long for the answer (200), else 202' }) timeoutMs?: number;
  @ApiPropertyOptional({
    description:
      'true: queue when the device is offline / not answering. Not given: refused (409) when offline; queued (202, reason gateway-unavailable) when the gateway that owns the device vanished. false: refused (409) in both cases',
  })
  queue?: boolean;
  @ApiPropertyOptional({ description: 'Life of a queued command, ms' }) expiresInMs?: number;
  @ApiPropertyOptional({ description: 'cancel-observe: observation token (hex)' }) token?: string;
}

class OperationDto {
  @ApiProperty() id!: string;
  @ApiProperty() epi!: string;
  @ApiProperty({ enum: OPS }) op!: string;
  @ApiProperty() path!: string;
  @ApiProperty({ enum: ['PENDING', 'QUEUED', 'SENT', 'SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED'] }) status!: string;
  @ApiPropertyOptional({ example: '2.05', description: 'CoAP response code of the device' }) code?: string;
  @ApiPropertyOptional({ description: 'Decoded content (value, or maps by id); text for link-format / text; base64 otherwise' }) content?: unknown;
  @ApiPropertyOptional() contentFormat?: number;
  @ApiPropertyOptional({ description: 'Observation token (observe)' }) token?: string;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional({ enum: ['device-offline', 'device-asleep', 'gateway-unavailable'], description: 'Why it was queued' }) reason?: string;
  @ApiProperty() createdAt!: number;
  @ApiProperty() updatedAt!: number;
  @ApiPropertyOptional() expiresAt?: number;
}

class ObservationDto {
  @ApiProperty() token!: string;
  @ApiProperty() path!: string;
  @ApiPropertyOptional() contentFormat?: number;
}

class ObservationsDto {
  @ApiProperty({ type: [ObservationDto] }) observations!: ObservationDto[];
}

class CancelledDto {
  @ApiProperty({ type: [OperationDto] }) operations!: OperationDto[];
}

function epiOf(epi: string): string {
  if (!Epi.safeParse(epi).success) throw new HttpException({ statusCode: 400, error: 'Bad Request', message: 'EPI must be 8-64 letters or digits' }, 400);
  return epi;
}

function fail(e: unknown): never {
  if (e instanceof HttpFailure) {
    const error = e.status === 404 ? 'Not Found' : e.status === 409 ? 'Conflict' : e.status === 429 ? 'Too Many Requests' : 'Bad Request';
    throw new HttpException({ statusCode: e.status, error, message: e.message, ...(e.reason !== undefined ? { reason: e.reason } : {}) }, e.status);
  }
  throw e;
}

@ApiTags('operations')
@ApiBearerAuth()
@Controller()
export class OperationsController {
  constructor(private readonly svc: CommandService) {}

  @Post('devices/:epi/operations')
  @ApiOperation({ summary: 'Run an LwM2M operation on a device (read, write, execute, observe, …)' })
  @ApiBody({ type: OperationRequestDto })
  @ApiOkResponse({ type: OperationDto, description: 'The device answered within timeoutMs (SUCCESS, or FAILED with its code)' })
  @ApiAcceptedResponse({ type: OperationDto, description: 'Queued or sent, no answer yet: poll GET /operations/{id}' })
  @ApiBadRequestResponse({ description: 'Malformed body, or an operation the object model forbids' })
  @ApiNotFoundResponse({ description: 'Unknown EPI' })
  @ApiConflictResponse({ description: 'Device offline and queue not true, or its gateway vanished and queue false (`reason`)' })
  async run(@Param('epi') epi: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<OperationView> {
    const parsed = OperationBody.safeParse(body);
    if (!parsed.success) {
      throw new HttpException({ statusCode: 400, error: 'Bad Request', message: z.prettifyError(parsed.error) }, 400);
    }
    const view = await this.svc.submit(epiOf(epi), parsed.data).catch(fail);
    res.status(FINAL.has(view.status) ? 200 : 202);
    return view;
  }

  @Get('operations/:id')
  @ApiOperation({ summary: 'State of an operation' })
  @ApiOkResponse({ type: OperationDto })
  @ApiNotFoundResponse()
  async get(@Param('id') id: string): Promise<OperationView> {
    const v = await this.svc.get(id);
    if (!v) throw new NotFoundException(`operation ${id} not found (unknown or expired)`);
    return v;
  }

  @Delete('operations/:id')
  @ApiOperation({ summary: 'Cancel a queued operation (409 once it was sent)' })
  @ApiOkResponse({ type: OperationDto })
  async cancel(@Param('id') id: string): Promise<OperationView> {
    const v = await this.svc.cancel(id).catch(fail);
    if (!v) throw new NotFoundException(`operation ${id} not found (unknown or expired)`);
    return v;
  }

  @Get('devices/:epi/observations')
  @ApiOperation({ summary: 'Active observations of a device' })
  @ApiOkResponse({ type: ObservationsDto })
  async observations(@Param('epi') epi: string): Promise<ObservationsDto> {
    return { observations: await this.svc.store.observations(epiOf(epi)) };
  }

  @Delete('devices/:epi/observations')
  @ApiOperation({ summary: 'Cancel every observation of a device (one cancel-observe each)' })
  @ApiOkResponse({ type: CancelledDto })
  async cancelObservations(@Param('epi') epi: string, @Query('timeoutMs') timeoutMs?: string): Promise<CancelledDto> {
    const t = Math.min(Math.max(Number(timeoutMs ?? 10000) || 10000, 100), 600_000);
    const obs = await this.svc.store.observations(epiOf(epi));
    const operations: OperationView[] = [];
    for (const o of obs) {
      operations.push(await this.svc.submit(epi, { op: 'cancel-observe', path: o.path, token: o.token, timeoutMs: t, queue: false }).catch(fail));
    }
    return { operations };
  }
}
