/**
 * EPN → EPI parsing (libs/identity). Form A with decryption, cold (SHA-256 key
 * derivation on every call) and with the per-AppKey derived-key cache; Forms B–D and
 * urn:imei in clear. Baselines: the bare node:crypto work (Form A) or a plain
 * `String.split` of the same EPN (others), so the ratio shows the parser's overhead.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { Bench } from 'tinybench';
import { DerivedKeyCache, encodeEpn, parseEpn } from '../../libs/identity/src/index';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';

const APPKEY = 'M100000058';
const PASSWORD = 'Abc12345';
const PASSWORDS = new Map([[APPKEY, PASSWORD]]);
const ZERO_IV = Buffer.alloc(16);

const formA = encodeEpn({
  form: 'A',
  terminalType: 'I',
  appKey: APPKEY,
  password: PASSWORD,
  id1: '110123450A1B2C3',
  id2: '866327040830317',
  imsi: '460041995401123',
  version: 'v2.0',
});
const formB = '866327040830317-****-460041995401123-v2.0';
const formC = '869976030163456;460040427008310';
const formD = 'CMCC||M1||M100000058||V4.0||1.0||A||T0001||866327040830317||869976030163456||***||***||***';
const urn = 'urn:imei:866327040830317';

let sink = 0;

function mustParse(epn: string, opts?: Parameters<typeof parseEpn>[1]): void {
  const r = parseEpn(epn, opts);
  if (!r.ok) throw new Error(`bench fixture rejected: ${r.reason} ${r.detail}`);
  sink += r.epi.length;
}

function rawDecrypt(b64: string, key: Buffer): void {
  const d = createDecipheriv('aes-256-cbc', key, ZERO_IV);
  sink += Buffer.concat([d.update(Buffer.from(b64, 'base64')), d.final()]).length;
}

async function measure(fn: () => void, opts: BenchOptions): Promise<{ opsPerSec: number; rme: number }> {
  const bench = new Bench({ time: opts.quick ? 150 : 1000, warmupTime: opts.quick ? 30 : 200 });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0]?.result;
  if (!r || r.state !== 'completed') throw new Error(`bench task did not complete (${r?.state ?? 'no result'})`);
  return { opsPerSec: 1000 / r.period, rme: r.latency.rme };
}

async function row(
  name: string,
  ours: () => void,
  baselineName: string,
  baseline: () => void,
  opts: BenchOptions,
  extra?: Record<string, number | string>,
): Promise<BenchRow> {
  const a = await measure(ours, opts);
  const b = await measure(baseline, opts);
  const out: BenchRow = {
    group: 'protocol',
    name,
    opsPerSec: a.opsPerSec,
    rme: a.rme,
    baseline: { name: baselineName, opsPerSec: b.opsPerSec },
  };
  if (extra) out.extra = extra;
  return out;
}

export const suite: BenchSuite = {
  name: 'identity',
  async run(opts: BenchOptions): Promise<BenchRow[]> {
    const b64 = formA.split('@#@')[1] ?? '';
    const key = createHash('sha256').update(PASSWORD).digest();
    const cache = new DerivedKeyCache(16);
    const rows: BenchRow[] = [];
    rows.push(
      await row(
        'EPN parse: Form A 5-part, decrypt, cold key derivation',
        () => mustParse(formA, { passwords: PASSWORDS }),
        'node:crypto SHA-256 + AES-256-CBC decrypt only',
        () => rawDecrypt(b64, createHash('sha256').update(PASSWORD).digest()),
        opts,
        { epnBytes: formA.length },
      ),
    );
    rows.push(
      await row(
        'EPN parse: Form A 5-part, decrypt, cached key',
        () => mustParse(formA, { passwords: PASSWORDS, keyCache: cache }),
        'node:crypto AES-256-CBC decrypt only (precomputed key)',
        () => rawDecrypt(b64, key),
        opts,
        { epnBytes: formA.length },
      ),
    );
    for (const [label, epn, sep] of [
      ['Form B', formB, '-'],
      ['Form C', formC, ';'],
      ['Form D', formD, '||'],
      ['urn:imei', urn, ':'],
    ] as const) {
      rows.push(
        await row(
          `EPN parse: ${label}`,
          () => mustParse(epn),
          'String.split only (no checks)',
          () => {
            sink += epn.split(sep).length;
          },
          opts,
          { epnBytes: epn.length },
        ),
      );
    }
    if (sink === -1) rows.length = 0; // keep `sink` observable
    return rows;
  },
};
