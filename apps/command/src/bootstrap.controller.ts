import { Body, Controller, Delete, Get, HttpCode, HttpException, Inject, NotFoundException, Param, Put } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiBody, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Redis } from '@dmp/redis';
import { REDIS } from '@dmp/service-kit';
import { AppKey, AppKeyPassword, appKeyPasswordKey, BootstrapConfig, bootstrapKey } from './bootstrap-config';

class ServerDto {
  @ApiProperty({ example: 'coap://127.0.0.1:5683' }) uri!: string;
  @ApiPropertyOptional({ description: 'Relative weight (rendezvous hashing of the EPI)' }) weight?: number;
}

class BootstrapConfigDto {
  @ApiProperty({ type: [ServerDto] }) servers!: ServerDto[];
  @ApiPropertyOptional({ enum: ['nosec', 'psk'], default: 'nosec' }) securityMode?: string;
  @ApiPropertyOptional() pskIdentity?: string;
  @ApiPropertyOptional({ description: 'PSK, base64 (write-only: GET answers pskKeySet)' }) pskKey?: string;
  @ApiPropertyOptional() lifetime?: number;
  @ApiPropertyOptional({ enum: ['U', 'UQ', 'S', 'SQ', 'US', 'UQS'] }) binding?: string;
  @ApiPropertyOptional() shortServerId?: number;
  @ApiPropertyOptional() securityInstanceId?: number;
  @ApiPropertyOptional() serverInstanceId?: number;
}

class PasswordDto {
  @ApiProperty({ description: 'AppKey password (used by devices to encrypt their EPN, form A)' }) password!: string;
}

const bad = (message: string) => new HttpException({ statusCode: 400, error: 'Bad Request', message }, 400);

function keyOf(target: string): string {
  const key = bootstrapKey(target);
  if (!key) throw bad('target must be an EPI, appkey:<AppKey> or default');
  return key;
}

function redacted(c: BootstrapConfig): Omit<BootstrapConfig, 'pskKey'> & { pskKeySet?: boolean } {
  const { pskKey, ...rest } = c;
  return pskKey !== undefined ? { ...rest, pskKeySet: true } : rest;
}

/** Bootstrap configurations (read by the gateway's Bootstrap Server) and AppKey passwords. */
@ApiTags('bootstrap')
@ApiBearerAuth()
@Controller()
export class BootstrapController {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  @Put('bootstrap/:target')
  @ApiOperation({ summary: 'Set the bootstrap configuration of a device (EPI), an AppKey (appkey:KEY) or the default' })
  @ApiParam({ name: 'target', example: 'appkey:M100000052' })
  @ApiBody({ type: BootstrapConfigDto })
  @ApiOkResponse({ type: BootstrapConfigDto })
  @ApiBadRequestResponse()
  async put(@Param('target') target: string, @Body() body: unknown): Promise<object> {
    const key = keyOf(target);
    const parsed = BootstrapConfig.safeParse(body);
    if (!parsed.success) throw bad(z.prettifyError(parsed.error));
    await this.redis.set(key, JSON.stringify(parsed.data));
    return redacted(parsed.data);
  }

  @Get('bootstrap/:target')
  @ApiOperation({ summary: 'The bootstrap configuration stored for a target (pskKey never returned)' })
  @ApiOkResponse({ type: BootstrapConfigDto })
  @ApiNotFoundResponse()
  async get(@Param('target') target: string): Promise<object> {
    const raw = await this.redis.get(keyOf(target));
    if (raw === null) throw new NotFoundException(`no bootstrap configuration for ${target}`);
    const parsed = BootstrapConfig.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new HttpException({ statusCode: 500, error: 'Internal Server Error', message: 'stored configuration is invalid (the gateway skips it)' }, 500);
    return redacted(parsed.data);
  }

  @Delete('bootstrap/:target')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async remove(@Param('target') target: string): Promise<void> {
    if ((await this.redis.del(keyOf(target))) === 0) throw new NotFoundException(`no bootstrap configuration for ${target}`);
  }

  @Put('appkeys/:appKey')
  @HttpCode(204)
  @ApiOperation({ summary: 'Set the password of an AppKey (write-only; stored as the gateway reads it, see README)' })
  @ApiBody({ type: PasswordDto })
  @ApiNoContentResponse()
  @ApiBadRequestResponse()
  async setPassword(@Param('appKey') appKey: string, @Body() body: unknown): Promise<void> {
    if (!AppKey.safeParse(appKey).success) throw bad('AppKey: 1-128 letters, digits, . _ -');
    const parsed = AppKeyPassword.safeParse(body);
    if (!parsed.success) throw bad(z.prettifyError(parsed.error));
    await this.redis.set(appKeyPasswordKey(appKey), parsed.data.password);
  }

  @Delete('appkeys/:appKey')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async removePassword(@Param('appKey') appKey: string): Promise<void> {
    if (!AppKey.safeParse(appKey).success) throw bad('AppKey: 1-128 letters, digits, . _ -');
    if ((await this.redis.del(appKeyPasswordKey(appKey))) === 0) throw new NotFoundException(`no password for AppKey ${appKey}`);
  }
}
