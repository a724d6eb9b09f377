/**
 * Record-format codecs (libs/lwm2m/src/formats/senml, lwm2m-cbor). Each row's baseline
 * is the bare parser on the same bytes (cbor-x decode / JSON.parse), so the ratio is
 * our overhead: shape checks, RFC 8428 resolution, model lookups and node building.
 */
import { Decoder } from 'cbor-x';
import { Bench } from 'tinybench';
import { lwm2mCborCodec } from '../../libs/lwm2m/src/formats/lwm2m-cbor';
import { senmlCborCodec, senmlJsonCodec } from '../../libs/lwm2m/src/formats/senml/index';
import { ObjectModelRegistry } from '../../libs/lwm2m/src/model/registry';
import { LwM2mPath } from '../../libs/lwm2m/src/path';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';

const models = ObjectModelRegistry.default();
const path = LwM2mPath.parse('/3/0');
const plainCbor = new Decoder({ useRecords: false, mapsAsObjects: false });

/** A 10-record Device (/3/0) pack: strings, integers, a time and multiple resources. */
const PACK_JSON = new TextEncoder().encode(
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
    '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"7/0","v":3800},' +
    '{"n":"9","v":100},{"n":"10","v":15},{"n":"13","v":1367491215},{"n":"16","vs":"U"}]',
);
const node = senmlJsonCodec.decode(PACK_JSON, path, models);
const PACK_CBOR = senmlCborCodec.encode(node, path, models);
const LWM2M_CBOR = lwm2mCborCodec.encode(node, path, models);
const jsonText = new TextDecoder().decode(PACK_JSON);

let sink = 0;

async function measure(fn: () => void, opts: BenchOptions): Promise<{ opsPerSec: number; rme: number }> {
  const bench = new Bench({ time: opts.quick ? 150 : 1000, warmupTime: opts.quick ? 30 : 200 });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0]?.result;
  if (!r || r.state !== 'completed') throw new Error(`bench task did not complete (${r?.state ?? 'no result'})`);
  return { opsPerSec: 1000 / r.period, rme: r.latency.rme };
}

async function row(name: string, ours: () => void, baselineName: string, baseline: () => void, opts: BenchOptions, bytes: number): Promise<BenchRow> {
  const a = await measure(ours, opts);
  const b = await measure(baseline, opts);
  return { group: 'protocol', name, opsPerSec: a.opsPerSec, rme: a.rme, baseline: { name: baselineName, opsPerSec: b.opsPerSec }, extra: { payloadBytes: bytes, records: 10 } };
}

export const suite: BenchSuite = {
  name: 'senml',
  async run(opts: BenchOptions): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    rows.push(
      await row(
        'SenML CBOR decode: 10-record pack → node',
        () => {
          sink += senmlCborCodec.decode(PACK_CBOR, path, models).id;
        },
        'cbor-x decode (same bytes)',
        () => {
          sink += (plainCbor.decode(PACK_CBOR) as unknown[]).length;
        },
        opts,
        PACK_CBOR.length,
      ),
    );
    rows.push(
      await row(
        'SenML JSON decode: 10-record pack → node',
        () => {
          sink += senmlJsonCodec.decode(PACK_JSON, path, models).id;
        },
        'JSON.parse (same text, already a string)',
        () => {
          sink += (JSON.parse(jsonText) as unknown[]).length;
        },
        opts,
        PACK_JSON.length,
      ),
    );
    rows.push(
      await row(
        'LwM2M CBOR decode: /3/0, 10 values → node',
        () => {
          sink += lwm2mCborCodec.decode(LWM2M_CBOR, path, models).id;
        },
        'cbor-x decode (same bytes)',
        () => {
          sink += (plainCbor.decode(LWM2M_CBOR) as Map<unknown, unknown>).size;
        },
        opts,
        LWM2M_CBOR.length,
      ),
    );
    rows.push(
      await row(
        'SenML JSON encode: node → 10-record pack',
        () => {
          sink += senmlJsonCodec.encode(node, path, models).length;
        },
        'JSON.stringify of the parsed pack',
        () => {
          sink += JSON.stringify(JSON.parse(jsonText) as unknown).length;
        },
        opts,
        PACK_JSON.length,
      ),
    );
    if (sink === -1) rows.length = 0;
    return rows;
  },
};
