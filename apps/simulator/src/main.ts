/**
 * CLI: `npm run sim -- --target coap://127.0.0.1:5683 --ues 100000 --rate 2000 …`
 * (see README.md). Exit codes: 0 done, 1 failure, 2 bad options.
 * With DMP_SIM_WORKER=1 and an IPC channel this file is a worker of a multi-process run.
 */
import path from 'node:path';
import { OptionsError, parseCli, USAGE } from './options';
import { progressWriter } from './progress';
import { runSimulation, runWorker } from './simulator';

function summary(r: Awaited<ReturnType<typeof runSimulation>>, file: string): string {
  const c = r.counts;
  const reg = r.latencyMs.register;
  return [
    `registered ${c.registerOk} (failed ${c.registerFailed}), updates ${c.updateOk}, de-registered ${c.deregisterOk}, ` +
      `notifications ${c.notificationsSent}, timeouts ${c.timeouts}, retransmissions ${c.retransmissions}`,
    `register ${r.throughput.registerPerSec}/s p50 ${reg.p50} ms p99 ${reg.p99} ms; memory ${r.memory.bytesPerUe} B/UE (RSS), ${r.memory.heapBytesPerUe} B/UE (heap)`,
    `report: ${file}`,
  ].join('\n');
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(process.argv.slice(2), process.cwd());
  } catch (e) {
    if (e instanceof OptionsError) {
      process.stderr.write(`${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help || !parsed.config) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = parsed.config;
  const report = config.report ?? path.join(process.cwd(), '.dmp', `sim-report-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\nstopping${config.deregister ? ' (de-registering; signal again to quit at once)' : ''}…\n`);
      abort.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const out = progressWriter(process.stderr);
  const r = await runSimulation(
    { ...config, report },
    {
      signal: abort.signal,
      onProgress: (line) => out.write(line),
      log: (line) => {
        out.end();
        process.stderr.write(`${line}\n`);
      },
    },
  );
  out.end();
  process.stdout.write(`${summary(r, report)}\n`);
  return 0;
}

if (process.env['DMP_SIM_WORKER'] === '1' && process.send) {
  runWorker();
} else {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`simulator failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
