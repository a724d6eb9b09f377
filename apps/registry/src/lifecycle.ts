import { type DeviceEvent, type DeviceStateEvent, encodeMessage, Topics } from '@dmp/contracts';
import { DEFAULT_DEVICE_PASSWORD, inspectEpn, parseEpn } from '@dmp/identity';
import type { EventProducer } from '@dmp/kafka';
import type { Redis } from '@dmp/redis';
import type { ActivationRecord, Directory, Identity } from './directory';
import type { GeoLocator } from './geo';
import { regKeys, stableEventId } from './redis-layout';
import { decide } from './state-machine';

/** Object instances / objects announced in the registration's links: `</1/0>,</3/0>;ver=1.1` → ['/1/0', '/3/0']. */
export function objectsOf(links: string | undefined): string[] | undefined {
  if (links === undefined) return undefined;
  const out: string[] = [];
  for (const m of links.matchAll(/<(\/[0-9/]*)>/g)) {
    const p = m[1]!.replace(/\/+$/, '');
    if (p && !out.includes(p)) out.push(p);
    if (out.length >= 512) break;
  }
  return out;
}

export interface LifecycleMetrics {
  transition(to: string): void;
  activation(): void;
}

/**
 * Applies one `dmp.device-events.v1` event: connection log, directory row, activation
 * (first registration, R-ACT-1), state transition and history, then the derived events
 * (`activated`, `state-changed` on dmp.device-state.v1). Safe to replay: every write is
 * idempotent and derived events carry ids computed from the cause's id.
 */
export class Lifecycle {
  constructor(
    private readonly dir: Directory,
    private readonly redis: Redis,
    private readonly geo: GeoLocator,
    private readonly producer: EventProducer,
    private readonly metrics?: LifecycleMetrics,
  ) {}

  async apply(ev: DeviceEvent): Promise<void> {
    const out: DeviceStateEvent[] = [];
    switch (ev.type) {
      case 'registered':
        await this.onRegistered(ev, out);
        break;
      case 'updated':
        await Promise.all([
          this.dir.log({ epi: ev.epi, at: ev.ts, eventId: ev.eventId, kind: 'update', gatewayId: ev.gatewayId, ip: ev.address.ip, port: ev.address.port, lifetime: ev.lifetime }),
          this.dir.seen({ epi: ev.epi, ts: ev.ts, ip: ev.address.ip, port: ev.address.port, gatewayId: ev.gatewayId, lifetime: ev.lifetime, binding: ev.binding, objects: objectsOf(ev.links) }),
        ]);
        break;
      case 'deregistered':
        await Promise.all([
          this.dir.log({ epi: ev.epi, at: ev.ts, eventId: ev.eventId, kind: 'deregister', gatewayId: ev.gatewayId, ip: ev.address.ip, port: ev.address.port }),
          this.dir.seen({ epi: ev.epi, ts: ev.ts, ip: ev.address.ip, port: ev.address.port, gatewayId: ev.gatewayId }),
        ]);
        break;
      case 'awake':
        await this.dir.seen({ epi: ev.epi, ts: ev.ts, ip: ev.address.ip, port: ev.address.port, gatewayId: ev.gatewayId });
        break;
      case 'offline':
        await this.dir.log({
          epi: ev.epi, at: ev.ts, eventId: ev.eventId, kind: 'timeout', gatewayId: ev.gatewayId, ip: ev.address?.ip, port: ev.address?.port, lifetime: ev.lifetime, reason: ev.reason,
        });
        break;
    }
    await this.transition(ev, out);
    if (out.length) await this.producer.send(Topics.deviceState.name, out.map((e) => encodeMessage(Topics.deviceState, e.epi, e)));
  }

  private async identity(endpoint: string): Promise<Identity> {
    const env = inspectEpn(endpoint);
    const passwords = new Map<string, string>();
    if (env.needsPassword && env.appKey) {
      const pw = await this.redis.get(regKeys.appkeyPassword(env.appKey));
      if (pw) passwords.set(env.appKey, pw);
    }
    // the devices' default password when none is configured, as the gateway does (no clear-field
    // check here: the gateway already accepted the name, this only reads its fields)
    const id = parseEpn(endpoint, { passwords, defaultPassword: DEFAULT_DEVICE_PASSWORD });
    if (!id.ok) return { appKey: id.appKey };
    return {
      form: id.form, cmei: id.cmei, imei: id.imei, imei2: id.imei2, imsi: id.imsi, version: id.version, appKey: id.appKey,
      brand: id.brand, model: id.model, terminalType: id.terminalType,
    };
  }

  private async onRegistered(ev: Extract<DeviceEvent, { type: 'registered' }>, out: DeviceStateEvent[]): Promise<void> {
    const identity = await this.identity(ev.endpoint);
    const region = this.geo.lookup(ev.address.ip);
    const candidate: ActivationRecord = {
      ...identity, epi: ev.epi, activatedAt: ev.ts, eventId: ev.eventId, endpoint: ev.endpoint, sourceIp: ev.address.ip, sourcePort: ev.address.port, gatewayId: ev.gatewayId, region,
    };
    const { applied, record } = await this.dir.activate(candidate);
    // first registration, or a replay of it (crash between the insert and the publication)
    if (applied || record.eventId === ev.eventId) {
      if (applied) this.metrics?.activation();
      out.push({
        v: 1, type: 'activated', epi: ev.epi, ts: ev.ts, eventId: stableEventId('activated', ev.eventId), activatedAt: record.activatedAt,
        address: { ip: record.sourceIp, port: record.sourcePort }, gatewayId: record.gatewayId, region: record.region,
        cmei: record.cmei, imei: record.imei, imsi: record.imsi, version: record.version, appKey: record.appKey, brand: record.brand, model: record.model,
      });
    }
    await Promise.all([
      this.dir.log({ epi: ev.epi, at: ev.ts, eventId: ev.eventId, kind: 'register', gatewayId: ev.gatewayId, ip: ev.address.ip, port: ev.address.port, lifetime: ev.lifetime }),
      this.dir.registered({
        epi: ev.epi, ts: ev.ts, endpoint: ev.endpoint, identity, region, firstSeen: record.activatedAt, ip: ev.address.ip, port: ev.address.port, gatewayId: ev.gatewayId,
        lifetime: ev.lifetime, lwm2mVersion: ev.lwm2mVersion, binding: ev.binding, location: ev.location, objects: objectsOf(ev.links) ?? [],
      }),
    ]);
  }

  private async transition(ev: DeviceEvent, out: DeviceStateEvent[]): Promise<void> {
    const cur = await this.dir.currentState(ev.epi);
    const d = decide(cur, ev);
    if (!d.to || !d.reason) return;
    const gatewayId = 'gatewayId' in ev ? ev.gatewayId : undefined;
    const address = 'address' in ev ? ev.address : undefined;
    const changed: DeviceStateEvent = {
      v: 1, type: 'state-changed', epi: ev.epi, ts: ev.ts, eventId: stableEventId('state', ev.eventId), from: cur.state, to: d.to, reason: d.reason,
      gatewayId, address, causeEventId: ev.eventId,
    };
    if (d.record) {
      await this.dir.addHistory(ev.epi, { at: ev.ts, eventId: ev.eventId, from: cur.state, to: d.to, reason: d.reason, gatewayId: gatewayId ?? null, ip: address?.ip ?? null, port: address?.port ?? null });
    }
    if (d.apply) {
      await this.dir.setState(ev.epi, d.to, ev.ts, ev.eventId);
      this.metrics?.transition(d.to);
      out.push(changed);
    } else if (d.replay) {
      out.push({ ...changed, from: null });
    }
  }
}
