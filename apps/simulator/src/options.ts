/**
 * Simulator options: CLI flags, an optional scenario file (YAML or JSON, same keys in
 * camelCase plus `phases`), and `.dmp/endpoints.json` for the default target. Everything
 * is validated with zod; a bad option is an {@link OptionsError} (the CLI exits 2).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { EpnForm } from './device/types';

export class OptionsError extends Error {}

/** Open files a process may hold here (ulimit -Hn); the pool must leave room for the rest. */
export const MAX_SOCKETS_PER_PROCESS = 19_000;
export const DEFAULT_SOCKETS = 16_000;

const EPN_FORMS = ['A', 'B', 'C', 'D', 'URN_IMEI', 'IMEI'] as const;

export const PhaseSchema = z
  .object({
    name: z.string().min(1).optional(),
    action: z.enum(['register', 'steady', 'storm', 'deregister']),
    rate: z.number().positive().optional(),
    seconds: z.number().nonnegative().optional(),
  })
  .strict();
export type Phase = z.infer<typeof PhaseSchema>;

const FormsSchema = z
  .partialRecord(z.enum(EPN_FORMS), z.number().nonnegative())
  .refine((f) => Object.values(f).some((w) => (w ?? 0) > 0), 'at least one form needs a weight > 0');

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

export const ConfigSchema = z
  .object({
    target: z.string().min(1),
    ues: int(1, 100_000_000),
    firstIndex: int(0),
    seed: int(0, 0xffffffff),
    rate: z.number().positive(),
    lifetime: int(1, 0xffffffff),
    jitter: z.number().min(0).max(0.9),
    binding: z.enum(['U', 'UQ']),
    awakeMs: int(1),
    forms: FormsSchema,
    appKey: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    bootstrap: z.string().optional(),
    duration: z.number().nonnegative().optional(),
    stormAt: z.number().nonnegative().optional(),
    sendInterval: z.number().nonnegative(),
    notify: z.enum(['con', 'non']),
    processes: int(1, 64),
    sockets: int(1, MAX_SOCKETS_PER_PROCESS),
    sourceIps: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'a.b.c.d/len').optional(),
    metricsPort: int(0, 65535),
    report: z.string().min(1).optional(),
    deregister: z.boolean(),
    progressInterval: z.number().positive(),
    ackTimeoutMs: int(1),
    maxRetransmit: int(0, 10),
    phases: z.array(PhaseSchema).min(1).optional(),
    /** Index of this worker among `processes` (set by the parent; picks the address block). */
    processIndex: int(0, 239),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [key, uri] of [['target', c.target], ['bootstrap', c.bootstrap]] as const) {
      if (uri === undefined) continue;
      if (/^coaps:/i.test(uri)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'coaps:// (DTLS) is not supported: the gateway has no DTLS yet; use coap://' });
      } else if (!/^coap:\/\/(\[[^\]]+\]|[^:/]+)(:\d{1,5})?\/?$/.test(uri)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be coap://host:port' });
      }
    }
    if ((c.forms.A ?? 0) > 0 && !c.appKey) {
      ctx.addIssue({ code: 'custom', path: ['forms'], message: 'Form A needs --appkey (and --password unless the AppKey uses the device default password)' });
    }
    const perProcess = Math.ceil(c.ues / c.processes);
    if (c.binding === 'U' && perProcess > c.sockets) {
      ctx.addIssue({
        code: 'custom',
        path: ['ues'],
        message:
          `binding U keeps one socket per UE for the whole run, and a process has at most ${c.sockets} (--sockets; ` +
          `open files are capped at 20000 per process): ${perProcess} UEs per process is too many. ` +
          `Use --binding UQ (queue mode: a UE holds a socket only while awake) or more --processes ` +
          `(at least ${Math.ceil(c.ues / c.sockets)}).`,
      });
    }
  });

export type SimConfig = z.infer<typeof ConfigSchema>;

export const DEFAULTS: Omit<SimConfig, 'target'> = {
  ues: 1000,
  firstIndex: 0,
  seed: 1,
  rate: 500,
  lifetime: 300,
  jitter: 0.1,
  binding: 'U',
  awakeMs: 5000,
  // Form A joins the default mix only when an AppKey is given (see validateConfig).
  forms: { B: 6, C: 1, URN_IMEI: 1 },
  sendInterval: 0,
  notify: 'non',
  processes: 1,
  sockets: DEFAULT_SOCKETS,
  metricsPort: 9464,
  deregister: true,
  progressInterval: 2,
  ackTimeoutMs: 2000,
  maxRetransmit: 4,
  processIndex: 0,
};

/** `B:6,A:2,C:1,URN_IMEI:1` → { B: 6, A: 2, C: 1, URN_IMEI: 1 }. */
export function parseForms(text: string): Partial<Record<EpnForm, number>> {
  const out: Partial<Record<EpnForm, number>> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Z_]+)(?::(\d+(?:\.\d+)?))?$/i.exec(part);
    const form = m?.[1]?.toUpperCase() as EpnForm | undefined;
    if (!m || !form || !(EPN_FORMS as readonly string[]).includes(form)) {
      throw new OptionsError(`--forms: "${part}" is not FORM[:weight] with FORM one of ${EPN_FORMS.join(', ')}`);
    }
    out[form] = m[2] === undefined ? 1 : Number(m[2]);
  }
  return out;
}

const FLAGS = {
  target: { type: 'string' },
  ues: { type: 'string' },
  'first-index': { type: 'string' },
  seed: { type: 'string' },
  rate: { type: 'string' },
  lifetime: { type: 'string' },
  jitter: { type: 'string' },
  binding: { type: 'string' },
  'awake-ms': { type: 'string' },
  forms: { type: 'string' },
  appkey: { type: 'string' },
  password: { type: 'string' },
  bootstrap: { type: 'string' },
  duration: { type: 'string' },
  'storm-at': { type: 'string' },
  'send-interval': { type: 'string' },
  notify: { type: 'string' },
  processes: { type: 'string' },
  sockets: { type: 'string' },
  'source-ips': { type: 'string' },
  'metrics-port': { type: 'string' },
  report: { type: 'string' },
  'no-deregister': { type: 'boolean' },
  'progress-interval': { type: 'string' },
  'ack-timeout-ms': { type: 'string' },
  'max-retransmit': { type: 'string' },
  scenario: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const NUMERIC: Record<string, keyof SimConfig> = {
  ues: 'ues',
  'first-index': 'firstIndex',
  seed: 'seed',
  rate: 'rate',
  lifetime: 'lifetime',
  jitter: 'jitter',
  'awake-ms': 'awakeMs',
  duration: 'duration',
  'storm-at': 'stormAt',
  'send-interval': 'sendInterval',
  processes: 'processes',
  sockets: 'sockets',
  'metrics-port': 'metricsPort',
  'progress-interval': 'progressInterval',
  'ack-timeout-ms': 'ackTimeoutMs',
  'max-retransmit': 'maxRetransmit',
};

const STRINGS: Record<string, keyof SimConfig> = {
  target: 'target',
  binding: 'binding',
  appkey: 'appKey',
  password: 'password',
  bootstrap: 'bootstrap',
  notify: 'notify',
  'source-ips': 'sourceIps',
  report: 'report',
};

export const USAGE = `Usage: npm run sim -- [options]
  --target coap://host:port   gateway (default: "coap" of .dmp/endpoints.json)
  --ues N (1000)  --first-index N (0)  --seed N (1)
  --rate R        registrations/s during ramp-up (500)
  --lifetime S (300)  --jitter F (0.1)  --binding U|UQ (U)  --awake-ms N (5000)
  --forms "B:6,A:2,C:1,URN_IMEI:1"  --appkey K --password P (Form A)
  --bootstrap coap://host:port   bootstrap first
  --duration S    steady state after ramp-up (absent: until SIGINT/SIGTERM)
  --storm-at S    seconds into the steady state: every UE re-registers at once
  --send-interval S (0 = off)  --notify con|non (non)
  --processes P (1)  --sockets N (${DEFAULT_SOCKETS} per process)  --source-ips a.b.c.d/len
  --metrics-port N (9464; 0 = off)  --report path.json  --no-deregister
  --progress-interval S (2)  --ack-timeout-ms N (2000)  --max-retransmit N (4)
  --scenario file.yaml|json     same keys in camelCase + phases (CLI flags win)`;

/** Reads the default target from .dmp/endpoints.json (written by `npm start`). */
export function defaultTarget(root: string): string | undefined {
  const f = path.join(root, '.dmp', 'endpoints.json');
  if (!existsSync(f)) return undefined;
  try {
    const v = JSON.parse(readFileSync(f, 'utf8')) as { coap?: unknown };
    return typeof v.coap === 'string' ? v.coap : undefined;
  } catch {
    return undefined;
  }
}

export function loadScenario(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new OptionsError(`--scenario: cannot read ${file}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new OptionsError(`--scenario: ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OptionsError(`--scenario: ${file} must hold an object`);
  const out = { ...(v as Record<string, unknown>) };
  if (typeof out['forms'] === 'string') out['forms'] = parseForms(out['forms']);
  return out;
}

/** Validates a (partial) config merged over the defaults. */
export function validateConfig(input: Record<string, unknown>): SimConfig {
  const merged = { ...DEFAULTS, ...input };
  if (input['forms'] === undefined && typeof input['appKey'] === 'string') merged.forms = { B: 6, A: 2, C: 1, URN_IMEI: 1 };
  const r = ConfigSchema.safeParse(merged);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : 'options'}: ${i.message}`);
    throw new OptionsError(`invalid options:\n${lines.join('\n')}`);
  }
  return r.data;
}

export interface ParsedCli {
  help: boolean;
  config?: SimConfig;
}

/** argv (without node and script) → validated config. `root` locates .dmp/endpoints.json. */
export function parseCli(argv: readonly string[], root: string): ParsedCli {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new OptionsError((e as Error).message);
  }
  if (values['help']) return { help: true };
  const input: Record<string, unknown> = typeof values['scenario'] === 'string' ? loadScenario(values['scenario']) : {};
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const v = values[flag];
    if (typeof v !== 'string') continue;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new OptionsError(`--${flag}: "${v}" is not a number`);
    input[key] = n;
  }
  for (const [flag, key] of Object.entries(STRINGS)) {
    const v = values[flag];
    if (typeof v === 'string') input[key] = key === 'binding' ? v.toUpperCase() : v;
  }
  if (typeof values['forms'] === 'string') input['forms'] = parseForms(values['forms']);
  if (values['no-deregister']) input['deregister'] = false;
  if (input['target'] === undefined) {
    const t = defaultTarget(root);
    if (!t) throw new OptionsError('no --target and no .dmp/endpoints.json (run `npm start` first or pass --target coap://host:port)');
    input['target'] = t;
  }
  return { help: false, config: validateConfig(input) };
}
