/**
 * CoAP codec benchmark: @dmp/coap vs coap-packet (baseline) on LwM2M messages.
 * Each task runs BATCH operations per call so timer overhead does not dominate sub-µs work.
 */
import { Bench } from 'tinybench';
import * as coapPacket from 'coap-packet';
import {
  CoapCode,
  CoapMessageInit,
  CoapType,
  ContentFormat,
  OptionNumber,
  decode,
  encode,
  encodeInto,
  uintOption,
  uriPathOptions,
  uriQueryOptions,
} from '../../libs/coap/src/index';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';

const BATCH = 64;
const GROUP = 'protocol';

const token8 = Buffer.from('a1b2c3d4e5f60718', 'hex');

/** LwM2M Register: CON POST /rd?ep=...&lt=86400&lwm2m=1.1&b=U, link-format payload. */
export const registerMsg: CoapMessageInit = {
  type: CoapType.CON,
  code: CoapCode.POST,
  mid: 0x1234,
  token: token8,
  options: [
    ...uriPathOptions('/rd'),
    uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LINK_FORMAT),
    ...uriQueryOptions(['ep=urn:imei:864475040000001', 'lt=86400', 'lwm2m=1.1', 'b=U']),
  ],
  payload: Buffer.from('</1/0>,</3/0>,</4/0>,</5/0>'),
};

/** LwM2M Update: CON POST /rd/<location>?lt=86400&b=U, no payload (~40 bytes). */
export const updateMsg: CoapMessageInit = {
  type: CoapType.CON,
  code: CoapCode.POST,
  mid: 0x1235,
  token: token8,
  options: [...uriPathOptions(['rd', '5a3f8c2e1b']), ...uriQueryOptions(['lt=86400', 'b=U'])],
};

/** Notify: 2.05 CON with Observe and a 20-byte TLV payload. */
export const notifyMsg: CoapMessageInit = {
  type: CoapType.CON,
  code: CoapCode.CONTENT,
  mid: 0x1236,
  token: token8,
  options: [uintOption(OptionNumber.OBSERVE, 1234567), uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LWM2M_TLV)],
  payload: Buffer.from('c800144f70656e204d6f62696c65204d4f44454c', 'hex'),
};

function toPacket(m: CoapMessageInit): coapPacket.Packet {
  return {
    code: `${m.code >>> 5}.${String(m.code & 31).padStart(2, '0')}`,
    messageId: m.mid,
    token: Buffer.from(m.token ?? []),
    confirmable: m.type === CoapType.CON,
    ack: m.type === CoapType.ACK,
    reset: m.type === CoapType.RST,
    options: (m.options ?? []).map((o) => ({ name: String(o.number), value: Buffer.from(o.value) })),
    payload: Buffer.from(m.payload ?? []),
  };
}

let sink = 0;

interface Pair {
  name: string;
  ours: () => void;
  baseline: () => void;
  target?: number;
  extra?: Record<string, number | string>;
}

function batched(fn: () => void): () => void {
  return () => {
    for (let i = 0; i < BATCH; i++) fn();
  };
}

async function measure(p: Pair, opts: BenchOptions): Promise<BenchRow> {
  const bench = new Bench({
    time: opts.quick ? 500 : 1400,
    warmupTime: opts.quick ? 100 : 200,
    iterations: 10,
    warmupIterations: 10,
  });
  bench.add('ours', batched(p.ours)).add('coap-packet', batched(p.baseline));
  await bench.run();
  const stats = bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`bench task ${t.name} did not complete: ${r.state}`);
    return { ops: (BATCH * 1000) / r.period, rme: r.latency.rme };
  });
  const [ours, base] = stats as [{ ops: number; rme: number }, { ops: number; rme: number }];
  return {
    group: GROUP,
    name: p.name,
    opsPerSec: Math.round(ours.ops),
    rme: Number(ours.rme.toFixed(2)),
    baseline: { name: 'coap-packet 1.1.1', opsPerSec: Math.round(base.ops) },
    ...(p.target !== undefined ? { target: p.target } : {}),
    extra: { ratio: Number((ours.ops / base.ops).toFixed(2)), ...p.extra },
  };
}

export function pairs(): Pair[] {
  const regBytes = encode(registerMsg);
  const updBytes = encode(updateMsg);
  const notBytes = encode(notifyMsg);
  const regPacket = toPacket(registerMsg);
  const out = Buffer.alloc(1280);

  return [
    {
      name: `CoAP parse: Register (${regBytes.length} B)`,
      target: 1_000_000,
      extra: { bytes: regBytes.length },
      ours: () => {
        sink += decode(regBytes).optionCount;
      },
      baseline: () => {
        sink += coapPacket.parse(regBytes).options.length;
      },
    },
    {
      // Apples to apples with lazy decode: both sides also extract path, query and format.
      name: `CoAP parse + read path/query/format: Register (${regBytes.length} B)`,
      extra: { bytes: regBytes.length },
      ours: () => {
        const m = decode(regBytes);
        sink += m.uriPath.length + m.uriQuery.length + (m.contentFormat ?? 0) + m.payload.length;
      },
      baseline: () => {
        const p = coapPacket.parse(regBytes);
        const path: string[] = [];
        const query: string[] = [];
        let cf = 0;
        for (const o of p.options) {
          if (o.name === 'Uri-Path') path.push(o.value.toString('utf8'));
          else if (o.name === 'Uri-Query') query.push(o.value.toString('utf8'));
          else if (o.name === 'Content-Format') cf = o.value.length === 0 ? 0 : o.value.readUIntBE(0, o.value.length);
        }
        sink += path.length + query.length + cf + p.payload.length;
      },
    },
    {
      name: `CoAP serialize: Register (${regBytes.length} B)`,
      extra: { bytes: regBytes.length },
      ours: () => {
        sink += encode(registerMsg).length;
      },
      baseline: () => {
        sink += coapPacket.generate(regPacket).length;
      },
    },
    {
      name: `CoAP serialize into caller buffer: Register (${regBytes.length} B)`,
      extra: { bytes: regBytes.length },
      ours: () => {
        sink += encodeInto(registerMsg, out, 0);
      },
      baseline: () => {
        sink += coapPacket.generate(regPacket).length;
      },
    },
    {
      name: `CoAP parse: Update (${updBytes.length} B)`,
      extra: { bytes: updBytes.length },
      ours: () => {
        const m = decode(updBytes);
        sink += m.optionCount;
      },
      baseline: () => {
        sink += coapPacket.parse(updBytes).options.length;
      },
    },
    {
      name: `CoAP parse: Notify 2.05 + Observe (${notBytes.length} B)`,
      extra: { bytes: notBytes.length },
      ours: () => {
        const m = decode(notBytes);
        sink += m.optionCount;
      },
      baseline: () => {
        sink += coapPacket.parse(notBytes).options.length;
      },
    },
  ];
}

export const suite: BenchSuite = {
  name: 'coap',
  async run(opts: BenchOptions): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    for (const p of pairs()) rows.push(await measure(p, opts));
    if (sink === -1) rows.push({ group: GROUP, name: 'sink', opsPerSec: 0 }); // keeps `sink` observable
    return rows;
  },
};
