/**
 * Prometheus endpoint while the simulator runs (`--metrics-port`, 0 = off). Values are read
 * from the current (merged) stats at scrape time; no per-UE labels.
 */
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { type Counts, LATENCY_OPS, type LatencySummary, REQUEST_KINDS } from './stats';

export interface MetricsView {
  counts: Counts;
  responsesByCode: Record<string, number>;
  latency: Record<string, LatencySummary>;
  registered: number;
  ues: number;
}

export function createMetricsRegistry(view: () => MetricsView): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, pick: (c: Counts) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pick(view().counts));
      },
    });
  };
  counter('dmp_sim_register_ok_total', 'Registrations answered 2.01', (c) => c.registerOk);
  counter('dmp_sim_register_failed_total', 'Registrations failed (error code or timeout)', (c) => c.registerFailed);
  counter('dmp_sim_update_ok_total', 'Updates answered 2.04', (c) => c.updateOk);
  counter('dmp_sim_update_failed_total', 'Updates failed', (c) => c.updateFailed);
  counter('dmp_sim_deregister_ok_total', 'De-registrations answered 2.02', (c) => c.deregisterOk);
  counter('dmp_sim_bootstrap_ok_total', 'Bootstraps finished', (c) => c.bootstrapOk);
  counter('dmp_sim_notifications_total', 'Notifications sent', (c) => c.notificationsSent);
  counter('dmp_sim_sends_total', 'LwM2M Send requests sent', (c) => c.sendsSent);
  counter('dmp_sim_retransmissions_total', 'CON retransmissions', (c) => c.retransmissions);
  counter('dmp_sim_timeouts_total', 'Exchanges given up after MAX_RETRANSMIT', (c) => c.timeouts);
  counter('dmp_sim_dropped_while_asleep_total', 'Server requests that reached a sleeping UE', (c) => c.droppedWhileAsleep);
  new Counter({
    name: 'dmp_sim_server_requests_total',
    help: 'Requests from the server answered by UEs, by operation',
    labelNames: ['operation'],
    registers: [registry],
    collect() {
      this.reset();
      const c = view().counts;
      for (const k of REQUEST_KINDS) this.inc({ operation: k }, c.requestsReceived[k]);
    },
  });
  new Counter({
    name: 'dmp_sim_responses_total',
    help: 'Responses the UEs received, by CoAP code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(view().responsesByCode)) this.inc({ code }, n);
    },
  });
  new Gauge({
    name: 'dmp_sim_latency_ms',
    help: 'Latency quantiles since start (hdr histogram), by operation',
    labelNames: ['operation', 'quantile'],
    registers: [registry],
    collect() {
      this.reset();
      const l = view().latency;
      for (const op of LATENCY_OPS) {
        const s = l[op];
        if (!s || s.count === 0) continue;
        this.set({ operation: op, quantile: '0.5' }, s.p50);
        this.set({ operation: op, quantile: '0.9' }, s.p90);
        this.set({ operation: op, quantile: '0.99' }, s.p99);
        this.set({ operation: op, quantile: '1' }, s.max);
      }
    },
  });
  new Gauge({
    name: 'dmp_sim_ues',
    help: 'Simulated UEs, by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const v = view();
      this.set({ state: 'registered' }, v.registered);
      this.set({ state: 'total' }, v.ues);
    },
  });
  return registry;
}

/** Serves /metrics on 127.0.0.1:port; resolves with the bound port. */
export async function serveMetrics(registry: Registry, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
