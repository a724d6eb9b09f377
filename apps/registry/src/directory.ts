import { type CassandraClient, cassandraTypes } from '@dmp/cassandra';
import type { DeviceState } from '@dmp/contracts';
import type { Region } from './geo';
import type { CurrentState } from './state-machine';

/** Identity fields from the EPN (@dmp/identity parseEpn). */
export interface Identity {
  form?: string;
  cmei?: string;
  imei?: string;
  imei2?: string;
  imsi?: string;
  version?: string;
  appKey?: string;
  brand?: string;
  model?: string;
  terminalType?: string;
}

export interface ActivationRecord extends Identity {
  epi: string;
  activatedAt: number;
  eventId: string;
  endpoint: string;
  sourceIp: string;
  sourcePort: number;
  gatewayId: string;
  region: Region;
}

export interface HistoryRow {
  at: number;
  eventId: string;
  from: string | null;
  to: string;
  reason: string;
  gatewayId: string | null;
  ip: string | null;
  port: number | null;
}

export interface LogRow {
  epi: string;
  at: number;
  eventId: string;
  kind: 'register' | 'update' | 'deregister' | 'timeout';
  gatewayId?: string;
  ip?: string;
  port?: number;
  lifetime?: number;
  reason?: string;
}

type Row = Record<string, unknown> & { get(name: string): unknown };

const ms = (v: unknown): number | null => (v instanceof Date ? v.getTime() : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
/** Cassandra write timestamp (µs) from an event time (ms). */
const writeTs = (eventMs: number): number => eventMs * 1000;

/** UTC day of an epoch-ms time, as Cassandra `date` text. */
export function dayOf(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * The registry's Cassandra tables (libs/cassandra/migrations/0002_registry.cql). Every
 * write is idempotent: directory columns carry USING TIMESTAMP = event time (a replay or a
 * late event never overwrites newer values), history and log rows are keyed by event time
 * and event id, the activation is INSERT IF NOT EXISTS.
 */
export class Directory {
  private readonly t: (name: string) => string;

  constructor(
    private readonly db: CassandraClient,
    keyspace: string,
  ) {
    this.t = (name) => `${keyspace}.${name}`;
  }

  async currentState(epi: string): Promise<CurrentState> {
    const rs = await this.db.execute(`SELECT state, state_since, state_event_id, last_seen FROM ${this.t('devices')} WHERE epi = ?`, [epi]);
    const r = rs.first() as Row | null;
    if (!r) return { state: null, since: null, eventId: null, lastSeen: null };
    return { state: str(r['state']) as DeviceState | null, since: ms(r['state_since']), eventId: str(r['state_event_id']), lastSeen: ms(r['last_seen']) };
  }

  /** Writes the activation once; returns the stored record and whether this call wrote it. */
  async activate(a: ActivationRecord): Promise<{ applied: boolean; record: ActivationRecord }> {
    const rs = await this.db.execute(
      `INSERT INTO ${this.t('device_activations')} (epi, activated_at, event_id, endpoint, epn_form, cmei, imei, imei2, imsi, dm_version, app_key, brand, model, terminal_type,
        source_ip, source_port, gateway_id, region_country, region_province, region_city, region_isp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [
        a.epi, new Date(a.activatedAt), a.eventId, a.endpoint, a.form, a.cmei, a.imei, a.imei2, a.imsi, a.version, a.appKey, a.brand, a.model, a.terminalType,
        a.sourceIp, a.sourcePort, a.gatewayId, a.region.country, a.region.province, a.region.city, a.region.isp,
      ],
    );
    const r = rs.first() as Row | null;
    const applied = r?.['[applied]'] === true;
    if (applied || !r) return { applied, record: a };
    return { applied: false, record: this.toActivation(r) };
  }

  async activation(epi: string): Promise<ActivationRecord | undefined> {
    const r = (await this.db.execute(`SELECT * FROM ${this.t('device_activations')} WHERE epi = ?`, [epi])).first() as Row | null;
    return r ? this.toActivation(r) : undefined;
  }

  private toActivation(r: Row): ActivationRecord {
    const o = (k: string) => str(r[k]) ?? undefined;
    return {
      epi: String(r['epi']),
      activatedAt: ms(r['activated_at']) ?? 0,
      eventId: str(r['event_id']) ?? '',
      endpoint: str(r['endpoint']) ?? '',
      form: o('epn_form'),
      cmei: o('cmei'),
      imei: o('imei'),
      imei2: o('imei2'),
      imsi: o('imsi'),
      version: o('dm_version'),
      appKey: o('app_key'),
      brand: o('brand'),
      model: o('model'),
      terminalType: o('terminal_type'),
      sourceIp: str(r['source_ip']) ?? '',
      sourcePort: num(r['source_port']) ?? 0,
      gatewayId: str(r['gateway_id']) ?? '',
      region: { country: str(r['region_country']) ?? '', province: str(r['region_province']) ?? '', city: str(r['region_city']) ?? '', isp: str(r['region_isp']) ?? '' },
    };
  }

  /** Directory columns from a `registered` event. */
  async registered(d: {
    epi: string; ts: number; endpoint: string; identity: Identity; region: Region; firstSeen: number; ip: string; port: number;
    gatewayId: string; lifetime: number; lwm2mVersion: string; binding: string; location: string; objects: string[];
  }): Promise<void> {
    const i = d.identity;
    await this.db.execute(
      `UPDATE ${this.t('devices')} USING TIMESTAMP ? SET endpoint = ?, cmei = ?, imei = ?, imei2 = ?, imsi = ?, dm_version = ?, app_key = ?, brand = ?, model = ?,
        terminal_type = ?, region_country = ?, region_province = ?, region_city = ?, region_isp = ?, first_seen = ?, last_seen = ?, last_ip = ?, last_port = ?,
        gateway_id = ?, lifetime = ?, lwm2m_version = ?, binding = ?, reg_location = ?, objects = ? WHERE epi = ?`,
      [
        writeTs(d.ts), d.endpoint, i.cmei, i.imei, i.imei2, i.imsi, i.version, i.appKey, i.brand, i.model, i.terminalType,
        d.region.country, d.region.province, d.region.city, d.region.isp, new Date(d.firstSeen), new Date(d.ts), d.ip, d.port,
        d.gatewayId, d.lifetime, d.lwm2mVersion, d.binding, d.location, d.objects, d.epi,
      ],
    );
  }

  /** Last contact from an `updated` / `deregistered` / `awake` event. */
  async seen(d: { epi: string; ts: number; ip: string; port: number; gatewayId: string; lifetime?: number; binding?: string; objects?: string[] }): Promise<void> {
    await this.db.execute(
      `UPDATE ${this.t('devices')} USING TIMESTAMP ? SET last_seen = ?, last_ip = ?, last_port = ?, gateway_id = ?, lifetime = ?, binding = ?, objects = ? WHERE epi = ?`,
      [writeTs(d.ts), new Date(d.ts), d.ip, d.port, d.gatewayId, d.lifetime, d.binding, d.objects, d.epi],
    );
  }

  async setState(epi: string, state: DeviceState, at: number, eventId: string): Promise<void> {
    await this.db.execute(`UPDATE ${this.t('devices')} USING TIMESTAMP ? SET state = ?, state_since = ?, state_event_id = ? WHERE epi = ?`, [
      writeTs(at), state, new Date(at), eventId, epi,
    ]);
  }

  async addHistory(epi: string, h: HistoryRow): Promise<void> {
    await this.db.execute(
      `INSERT INTO ${this.t('device_state_history')} (epi, at, event_id, from_state, to_state, reason, gateway_id, ip, port) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [epi, new Date(h.at), h.eventId, h.from ?? undefined, h.to, h.reason, h.gatewayId ?? undefined, h.ip ?? undefined, h.port ?? undefined],
    );
  }

  async history(epi: string, limit = 20): Promise<HistoryRow[]> {
    const rs = await this.db.execute(`SELECT * FROM ${this.t('device_state_history')} WHERE epi = ? LIMIT ?`, [epi, limit]);
    return rs.rows.map((r) => {
      const row = r as unknown as Row;
      return {
        at: ms(row['at']) ?? 0,
        eventId: String(row['event_id']),
        from: str(row['from_state']),
        to: String(row['to_state']),
        reason: String(row['reason']),
        gatewayId: str(row['gateway_id']),
        ip: str(row['ip']),
        port: num(row['port']),
      };
    });
  }

  async log(l: LogRow): Promise<void> {
    await this.db.execute(
      `INSERT INTO ${this.t('connection_log')} (epi, day, at, event_id, kind, gateway_id, ip, port, lifetime, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [l.epi, cassandraTypes.LocalDate.fromString(dayOf(l.at)), new Date(l.at), l.eventId, l.kind, l.gatewayId, l.ip, l.port, l.lifetime, l.reason],
    );
  }

  async connectionLog(epi: string, day: string, limit = 100): Promise<Array<Record<string, unknown>>> {
    const rs = await this.db.execute(`SELECT * FROM ${this.t('connection_log')} WHERE epi = ? AND day = ? LIMIT ?`, [epi, cassandraTypes.LocalDate.fromString(day), limit]);
    return rs.rows.map((r) => ({ ...(r as unknown as Record<string, unknown>) }));
  }

  async device(epi: string): Promise<Record<string, unknown> | undefined> {
    const r = (await this.db.execute(`SELECT * FROM ${this.t('devices')} WHERE epi = ?`, [epi])).first() as Row | null;
    if (!r) return undefined;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(r)) {
      const v = r[k];
      if (typeof v === 'function') continue;
      out[k] = v instanceof Date ? v.getTime() : v;
    }
    return out;
  }
}
