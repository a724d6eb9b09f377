// The single HTTP entry point: `/api/v1/<prefix>/...` is authenticated once here and
// forwarded to the service that owns <prefix>; `/api/docs-json` is the merged OpenAPI
// document of every service, `/api/docs` its Swagger UI.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { Logger } from 'nestjs-pino';
import { Counter } from 'prom-client';
import { loadConfigOrExit } from '@dmp/config';
import { installShutdown, MetricsService, ServiceKitModule } from '@dmp/service-kit';
import { bearerAuth } from './auth';
import { apiGatewayEnv } from './config';
import { IndexController } from './index.controller';
import { mergedDocument } from './openapi';

const config = loadConfigOrExit('api-gateway', apiGatewayEnv);

@Module({
  imports: [ServiceKitModule.forRoot({ service: 'api-gateway', config })],
  controllers: [IndexController],
})
class ApiGatewayModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(ApiGatewayModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix('api/v1', { exclude: ['health/live', 'health/ready', 'metrics'] });
  const registry = app.get(MetricsService).registry;
  const rejected = new Counter({ name: 'dmp_api_auth_rejected_total', help: 'Requests refused by the bearer check', labelNames: ['reason'], registers: [registry] });
  const proxied = new Counter({ name: 'dmp_api_proxied_total', help: 'Requests forwarded to a service', labelNames: ['route', 'status'], registers: [registry] });

  const express = app.getHttpAdapter().getInstance() as import('express').Express;
  express.disable('x-powered-by');
  express.use('/api/v1', bearerAuth(config.API_ADMIN_TOKEN, (reason) => rejected.inc({ reason })));
  for (const [prefix, target] of Object.entries(config.API_UPSTREAMS)) {
    express.use(
      `/api/v1/${prefix}`,
      createProxyMiddleware<Request, Response>({
        target,
        changeOrigin: false,
        xfwd: true,
        proxyTimeout: config.API_UPSTREAM_TIMEOUT_MS,
        pathRewrite: (path) => `/api/v1/${prefix}${path === '/' ? '' : path}`,
        on: {
          proxyRes: (res) => void proxied.inc({ route: prefix, status: String(res.statusCode ?? 0) }),
          error: (_err, _req, res) => {
            proxied.inc({ route: prefix, status: '502' });
            if ('writeHead' in res && !res.headersSent) {
              res.writeHead(502, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ statusCode: 502, error: 'Bad Gateway', message: `service for /${prefix} unavailable` }));
            }
          },
        },
      }),
    );
  }

  const own = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('DMP API')
      .setDescription('Device-management platform API (China Mobile DM / LwM2M). Every /api/v1 route needs `Authorization: Bearer <token>`.')
      .setVersion('v1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, own, { useGlobalPrefix: false, jsonDocumentUrl: 'api/docs-own-json' });
  express.get('/api/docs-json', (_req, res, next) => {
    mergedDocument(own, config.API_UPSTREAMS).then((doc) => res.json(doc), next);
  });

  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  installShutdown(app, config.SHUTDOWN_TIMEOUT_MS);
  app.get(Logger).log(`API at ${await app.getUrl()}/api/v1`, 'ApiGateway');
}

void main();
