/**
 * LwM2M codec benchmark (@dmp/lwm2m): TLV decode / encode of the spec §8.1 table 8-4
 * example, link-format parse of a typical Register payload, full Register parse.
 * No other JS TLV / LwM2M library is installed, so rows carry a `target` instead of a
 * baseline (a home-made "reference implementation" would be a fake baseline).
 * Each task runs BATCH operations per call so timer overhead does not dominate sub-µs work.
 */
import { Bench } from 'tinybench';
import {
  ObjectModelRegistry,
  LwM2mPath,
  decodeTlv,
  encodeTlv,
  parseLinkFormat,
  parseObjectLinks,
  parseRegisterQuery,
  staticModels,
  type LwM2mNode,
  type ObjectModel,
  type ResourceModel,
  type ResourceType,
} from '../../libs/lwm2m/src/index';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';

const BATCH = 64;
const GROUP = 'protocol';

/** Spec §8.1 table 8-4. */
const SPEC_EXAMPLE = Uint8Array.from([
  0x08, 0x00, 0x13, 0xc1, 0x01, 0x01, 0xc4, 0x02, 0x3f, 0x80, 0x00, 0x00, 0xc1, 0x03, 0x01, 0xc5, 0x04, 0x54, 0x65, 0x73, 0x74, 0x31,
]);

/** A typical LwM2M 1.1 Register payload (core objects + a few IPSO sensors). */
const REGISTER_PAYLOAD =
  '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</19/0>,</19/1>,</3303/0>;ver=1.1,</3304/0>,</3316/0>';
const REGISTER_QUERY = ['ep=urn:imei:864475040000001', 'lt=86400', 'lwm2m=1.1', 'b=U'];

function specModel(): ObjectModel {
  const types: Record<number, ResourceType> = { 1: 'INTEGER', 2: 'FLOAT', 3: 'INTEGER', 4: 'STRING' };
  const resources = new Map<number, ResourceModel>();
  for (const [k, type] of Object.entries(types)) {
    const id = Number(k);
    resources.set(id, { id, name: `r${id}`, operations: 'RW', multiple: false, mandatory: false, type, rangeEnumeration: '', units: '', description: '' });
  }
  return { id: 3, name: 'spec-8-4', description: '', version: '1.0', lwm2mVersion: '1.0', urn: '', multiple: false, mandatory: true, resources };
}

let sink = 0;

interface Row {
  name: string;
  run: () => void;
  target?: number;
  extra?: Record<string, number | string>;
}

function batched(fn: () => void): () => void {
  return () => {
    for (let i = 0; i < BATCH; i++) fn();
  };
}

export function rows(): Row[] {
  const models = staticModels([specModel()]);
  const path = LwM2mPath.parse('/3/0');
  const node: LwM2mNode = decodeTlv(SPEC_EXAMPLE, path, models);
  const registry = ObjectModelRegistry.default();
  const payloadBytes = new TextEncoder().encode(REGISTER_PAYLOAD);
  return [
    {
      name: `LwM2M TLV decode: spec table 8-4 example (${SPEC_EXAMPLE.length} B)`,
      target: 1_000_000,
      extra: { bytes: SPEC_EXAMPLE.length },
      run: () => {
        const n = decodeTlv(SPEC_EXAMPLE, path, models);
        sink += n.id;
      },
    },
    {
      name: `LwM2M TLV encode: spec table 8-4 example (${SPEC_EXAMPLE.length} B)`,
      target: 1_000_000,
      extra: { bytes: SPEC_EXAMPLE.length },
      run: () => {
        sink += encodeTlv(node, path, models, { wrapObjectInstance: true }).length;
      },
    },
    {
      name: `LwM2M link-format parse: Register payload (${payloadBytes.length} B)`,
      target: 200_000,
      extra: { bytes: payloadBytes.length },
      run: () => {
        sink += parseLinkFormat(REGISTER_PAYLOAD).length;
      },
    },
    {
      name: `LwM2M Register parse: query + object links (${payloadBytes.length} B)`,
      target: 100_000,
      extra: { bytes: payloadBytes.length, models: registry.ids().length },
      run: () => {
        const q = parseRegisterQuery(REGISTER_QUERY);
        const ol = parseObjectLinks(payloadBytes);
        sink += q.lifetime + ol.objects.size;
      },
    },
  ];
}

async function measure(r: Row, opts: BenchOptions): Promise<BenchRow> {
  const bench = new Bench({
    time: opts.quick ? 300 : 1400,
    warmupTime: opts.quick ? 100 : 200,
    iterations: 10,
    warmupIterations: 10,
  });
  bench.add('ours', batched(r.run));
  await bench.run();
  const task = bench.tasks[0];
  const res = task?.result;
  if (!res || res.state !== 'completed') throw new Error(`bench task ${r.name} did not complete`);
  const ops = (BATCH * 1000) / res.period;
  return {
    group: GROUP,
    name: r.name,
    opsPerSec: Math.round(ops),
    rme: Number(res.latency.rme.toFixed(2)),
    ...(r.target !== undefined ? { target: r.target } : {}),
    ...(r.extra ? { extra: r.extra } : {}),
  };
}

export const suite: BenchSuite = {
  name: 'lwm2m',
  async run(opts: BenchOptions): Promise<BenchRow[]> {
    const out: BenchRow[] = [];
    for (const r of rows()) out.push(await measure(r, opts));
    if (sink === Number.MIN_SAFE_INTEGER) out.push({ group: GROUP, name: 'sink', opsPerSec: 0 });
    return out;
  },
};
