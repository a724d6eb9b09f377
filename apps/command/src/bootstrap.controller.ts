import { Body, Controller, Delete, Get, HttpCode, HttpException, Inject, NotFoundException, Param, Put } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiBody, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Redis } from '@dmp/redis';
import { REDIS } from '@dmp/service-kit';
import { AppKey, appKeyClearFallbackKey, appKeyPasswordKey, AppKeySettings, BootstrapConfig, bootstrapKey } from './bootstrap-config';

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

class AppKeySettingsDto {
  @ApiPropertyOptional({ description: 'AppKey password (used by devices to encrypt their EPN, form A); write-only' }) password?: string;
  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    description:
      'Accept Form A 5-part names from their clear fields when they do not decrypt with the password (true), refuse them with 4.03 (false), or use the gateway default GATEWAY_FORM_A_CLEAR_FALLBACK (null)',
  })
  clearFallback?: boolean | null;
}

class AppKeyViewDto {
  @ApiProperty() appKey!: string;
  @ApiProperty({ description: 'A password is configured (it is never returned)' }) passwordSet!: boolean;
  @ApiProperty({ type: Boolean, nullable: true, description: 'The AppKey override of the clear-field fallback; null = gateway default' }) clearFallback!: boolean | null;
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
  @ApiOperation({
    summary: 'Set the Form A settings of an AppKey: its password (write-only; stored as the gateway reads it, see README) and/or its clear-field fallback',
  })
  @ApiBody({ type: AppKeySettingsDto })
  @ApiNoContentResponse()
  @ApiBadRequestResponse()
  async setAppKey(@Param('appKey') appKey: string, @Body() body: unknown): Promise<void> {
    if (!AppKey.safeParse(appKey).success) throw bad('AppKey: 1-128 letters, digits, . _ -');
    const parsed = AppKeySettings.safeParse(body);
    if (!parsed.success) throw bad(z.prettifyError(parsed.error));
    const { password, clearFallback } = parsed.data;
    const m = this.redis.multi();
    if (password !== undefined) m.set(appKeyPasswordKey(appKey), password);
    if (clearFallback === null) m.del(appKeyClearFallbackKey(appKey));
    else if (clearFallback !== undefined) m.set(appKeyClearFallbackKey(appKey), clearFallback ? '1' : '0');
    await m.exec();
  }

  @Get('appkeys/:appKey')
  @ApiOperation({ summary: 'The Form A settings of an AppKey (whether a password is set, never the password)' })
  @ApiOkResponse({ type: AppKeyViewDto })
  @ApiNotFoundResponse()
  async getAppKey(@Param('appKey') appKey: string): Promise<AppKeyViewDto> {
    if (!AppKey.safeParse(appKey).success) throw bad('AppKey: 1-128 letters, digits, . _ -');
    const [hasPassword, fallback] = await Promise.all([this.redis.exists(appKeyPasswordKey(appKey)), this.redis.get(appKeyClearFallbackKey(appKey))]);
    if (hasPassword === 0 && fallback === null) throw new NotFoundException(`no settings for AppKey ${appKey}`);
    return { appKey, passwordSet: hasPassword === 1, clearFallback: fallback === null ? null : fallback === '1' };
  }

  @Delete('appkeys/:appKey')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove the settings of an AppKey (its devices then use the default password and the gateway default fallback)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async removeAppKey(@Param('appKey') appKey: string): Promise<void> {
    if (!AppKey.safeParse(appKey).success) throw bad('AppKey: 1-128 letters, digits, . _ -');
    if ((await this.redis.del(appKeyPasswordKey(appKey), appKeyClearFallbackKey(appKey))) === 0) throw new NotFoundException(`no settings for AppKey ${appKey}`);
  }
}
