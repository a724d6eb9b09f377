// The single HTTP entry point: `/api/v1/<path>` is authenticated once here and forwarded to
// the service owning the most specific route key matching <path> (see routes.ts); `/api/docs-json` is the merged OpenAPI
// document of every service, `/api/docs` its Swagger UI.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { Logger } from 'nestjs-pino';
import { Counter } from 'prom-client';
import { loadConfigOrExit } from '@dmp/config';
import { installShutdown, MetricsService, ServiceKitModule } from '@dmp/service-kit';
import { bearerAuth } from './auth';
import { apiGatewayEnv } from './config';
import { IndexController } from './index.controller';
import { mergedDocument } from './openapi';
import { compileRoutes, matchRoute } from './routes';

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
  // one proxy per route key; a dispatcher picks the most specific key matching the path
  const routes = compileRoutes(config.API_UPSTREAMS);
  const proxies = new Map(
    routes.map((route) => [
      route.key,
      createProxyMiddleware<Request, Response>({
        target: route.upstream,
        changeOrigin: false,
        xfwd: true,
        proxyTimeout: config.API_UPSTREAM_TIMEOUT_MS,
        pathRewrite: (path) => `/api/v1${path}`,
        on: {
          proxyRes: (res) => void proxied.inc({ route: route.key, status: String(res.statusCode ?? 0) }),
          error: (_err, _req, res) => {
            proxied.inc({ route: route.key, status: '502' });
            if ('writeHead' in res && !res.headersSent) {
              res.writeHead(502, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ statusCode: 502, error: 'Bad Gateway', message: `service for /${route.key} unavailable` }));
            }
          },
        },
      }),
    ]),
  );
  express.use('/api/v1', (req: Request, res: Response, next: NextFunction) => {
    const route = matchRoute(routes, req.url);
    const proxy = route && proxies.get(route.key);
    if (!proxy) return next();
    void proxy(req, res, next);
  });

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
