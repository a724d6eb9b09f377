#!/usr/bin/env node
// Local single-node stack without Docker: Redis (Debian package), Kafka 4.x (KRaft) and
// Cassandra 5.0.x (both assembled from Maven Central jars and run with `java -cp`).
//
//   node deploy/local/stack.mjs up       start what is not running, wait until each answers
//   node deploy/local/stack.mjs down     stop the processes this script started (pid files)
//   node deploy/local/stack.mjs status   pid, alive, answering
//   node deploy/local/stack.mjs logs [redis|kafka|cassandra] [-n N]
//   eval "$(node deploy/local/stack.mjs env)"   point REDIS_URL, KAFKA_BROKERS, ... at it
//
// Data and logs live under <repo>/.dmp/ (git-ignored); resolved jars are cached under
// $DMP_CACHE_DIR (default ~/.cache/dmp) so a second `up` needs no network.
// See docs/decisions/0001-local-stack-without-docker.md.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { stackConfig } from './stack-config.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'package.json'));
const cfg = stackConfig(root);

const log = (...a) => console.log('[stack]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- prerequisites

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;
function aptInstall(...pkgs) {
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${pkgs.join(', ')}: install them (apt-get install -y ${pkgs.join(' ')}) and retry`);
  }
  if (!aptUpdated) {
    log('apt-get update');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    aptUpdated = true;
  }
  log(`apt-get install -y ${pkgs.join(' ')}`);
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed`);
}

function javaVersionOf(javaBin) {
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)/.exec(r.stderr ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Cassandra 5.0 needs exactly Java 17 (Java 24+ removed the SecurityManager it uses). */
function findJava17() {
  const candidates = [];
  if (process.env.DMP_JAVA_HOME) candidates.push(path.join(process.env.DMP_JAVA_HOME, 'bin', 'java'));
  if (fs.existsSync('/usr/lib/jvm')) {
    for (const d of fs.readdirSync('/usr/lib/jvm').sort()) {
      if (/(^|-)17(\.|-|$)/.test(d)) candidates.push(path.join('/usr/lib/jvm', d, 'bin', 'java'));
    }
  }
  if (process.env.JAVA_HOME) candidates.push(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  for (const c of candidates) {
    if ((c === 'java' || fs.existsSync(c)) && javaVersionOf(c) === 17) return c;
  }
  return undefined;
}

function ensurePrerequisites({ needMaven }) {
  const missing = [];
  if (!have('redis-server')) missing.push('redis-server');
  let java = findJava17();
  if (!java) missing.push('openjdk-17-jdk-headless');
  if (needMaven && !have('mvn')) missing.push('maven');
  if (missing.length) aptInstall(...missing);
  java ??= findJava17();
  if (!java) throw new Error('no Java 17 found after installing openjdk-17-jdk-headless (set DMP_JAVA_HOME)');
  return java;
}

// ---------------------------------------------------------------- jar resolution

function libDir(name, version) {
  return path.join(cfg.cacheDir, `${name}-${version}`, 'lib');
}

function resolveJars(name, props) {
  const version = props[`${name}.version`];
  const dir = libDir(name, version);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  log(`resolving ${name} ${version} from Maven Central into ${dir}`);
  const args = [
    '-B', '-q', '-f', path.join(here, 'maven', name, 'pom.xml'),
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`,
  ];
  const r = spawnSync('mvn', args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`mvn could not resolve ${name} ${version}`);
  fs.writeFileSync(path.join(tmp, '.complete'), new Date().toISOString());
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

// ---------------------------------------------------------------- process helpers

const pidFile = (svc) => path.join(cfg.dataDir, 'pids', `${svc}.pid`);

// A pid file holds "<pid> <start time>" (field 22 of /proc/<pid>/stat) so that a recycled
// pid is never mistaken for our process.
function procStartTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[2] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function readPid(svc) {
  try {
    const [pidStr, start] = fs.readFileSync(pidFile(svc), 'utf8').trim().split(' ');
    const pid = Number(pidStr);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return procStartTime(pid) === start ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid) {
  return Boolean(pid) && procStartTime(pid) !== undefined;
}

function startDetached(svc, cmd, args, logFile, env = {}) {
  fs.mkdirSync(path.dirname(pidFile(svc)), { recursive: true });
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
    cwd: root,
  });
  fs.closeSync(out);
  fs.writeFileSync(pidFile(svc), `${child.pid} ${procStartTime(child.pid)}`);
  child.unref();
  return child.pid;
}

function tail(file, n = 50) {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    return lines.slice(-n - 1).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

async function waitFor(svc, probe, { timeoutMs, logFile, pid }) {
  const started = Date.now();
  let lastErr;
  while (Date.now() - started < timeoutMs) {
    if (pid && !alive(pid)) {
      throw new Error(`${svc} exited during startup. Last 50 lines of ${logFile}:\n${tail(logFile)}`);
    }
    try {
      await probe();
      return Date.now() - started;
    } catch (e) {
      lastErr = e;
      await sleep(500);
    }
  }
  throw new Error(
    `${svc} did not answer within ${timeoutMs / 1000}s (${lastErr?.message ?? lastErr}). Last 50 lines of ${logFile}:\n${tail(logFile)}`,
  );
}

// ---------------------------------------------------------------- probes (real client calls)

async function probeRedis() {
  const Redis = require('ioredis');
  const r = new Redis({ host: cfg.host, port: cfg.redis.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    const pong = await r.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  } finally {
    r.disconnect();
  }
}

async function probeKafka() {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'dmp-stack-probe',
    brokers: [`${cfg.host}:${cfg.kafka.port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const d = await admin.describeCluster();
    if (!d.brokers.length) throw new Error('no broker in cluster metadata');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probeCassandra() {
  const cassandra = require('cassandra-driver');
  const client = new cassandra.Client({
    contactPoints: [`${cfg.host}:${cfg.cassandra.port}`],
    localDataCenter: 'datacenter1',
    socketOptions: { connectTimeout: 2000 },
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60000) },
  });
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    if (!rs.first()) throw new Error('system.local is empty');
  } finally {
    await client.shutdown().catch(() => {});
  }
}

// ---------------------------------------------------------------- services

function redisService() {
  const dir = path.join(cfg.dataDir, 'redis');
  const logFile = path.join(dir, 'redis.log');
  return {
    name: 'redis',
    logFile,
    probe: probeRedis,
    timeoutMs: 30000,
    start() {
      fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
      const conf = [
        `bind ${cfg.host}`,
        `port ${cfg.redis.port}`,
        `dir ${path.join(dir, 'data')}`,
        'daemonize no',
        'protected-mode yes',
        'appendonly yes',
        'appendfsync everysec',
        'save ""',
        `maxmemory ${cfg.redis.maxmemory}`,
        'maxmemory-policy noeviction',
        'loglevel notice',
        '',
      ].join('\n');
      const confFile = path.join(dir, 'redis.conf');
      fs.writeFileSync(confFile, conf);
      return startDetached('redis', 'redis-server', [confFile], logFile);
    },
  };
}

function kafkaService(java) {
  const dir = path.join(cfg.dataDir, 'kafka');
  const logFile = path.join(dir, 'logs', 'kafka.out');
  return {
    name: 'kafka',
    logFile,
    probe: probeKafka,
    timeoutMs: 120000,
    start() {
      const lib = resolveJars('kafka', { 'kafka.version': cfg.kafka.version, 'log4j.version': cfg.kafka.log4jVersion });
      fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
      const props = [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@${cfg.host}:${cfg.kafka.controllerPort}`,
        `listeners=PLAINTEXT://${cfg.host}:${cfg.kafka.port},CONTROLLER://${cfg.host}:${cfg.kafka.controllerPort}`,
        `advertised.listeners=PLAINTEXT://${cfg.host}:${cfg.kafka.port}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${path.join(dir, 'data')}`,
        'num.partitions=3',
        'auto.create.topics.enable=false',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=10',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=5',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        'log.retention.hours=168',
        '',
      ].join('\n');
      const propsFile = path.join(dir, 'server.properties');
      fs.writeFileSync(propsFile, props);
      const log4j = [
        'status = warn',
        'appender.console.type = Console',
        'appender.console.name = STDOUT',
        'appender.console.layout.type = PatternLayout',
        'appender.console.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = INFO',
        'rootLogger.appenderRef.stdout.ref = STDOUT',
        'logger.kafka.name = kafka',
        'logger.kafka.level = INFO',
        'logger.state.name = state.change.logger',
        'logger.state.level = WARN',
        '',
      ].join('\n');
      const log4jFile = path.join(dir, 'log4j2.properties');
      fs.writeFileSync(log4jFile, log4j);
      const idFile = path.join(dir, 'cluster-id');
      if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, randomBytes(16).toString('base64url'));
      const clusterId = fs.readFileSync(idFile, 'utf8').trim();
      const jvm = [
        `-Xms${cfg.kafka.heap}`, `-Xmx${cfg.kafka.heap}`,
        '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4jFile}`, `-Dkafka.logs.dir=${path.join(dir, 'logs')}`,
        '-cp', `${lib}/*`,
      ];
      const fmt = spawnSync(java, [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted'], {
        encoding: 'utf8',
      });
      fs.appendFileSync(logFile, `${fmt.stdout ?? ''}${fmt.stderr ?? ''}`);
      if (fmt.status !== 0) {
        throw new Error(`kafka storage format failed:\n${fmt.stdout}\n${fmt.stderr}`);
      }
      return startDetached('kafka', java, [...jvm, 'kafka.Kafka', propsFile], logFile);
    },
  };
}

const CASSANDRA_JVM17 = [
  '-XX:+UseG1GC', '-XX:+ParallelRefProcEnabled', '-XX:MaxTenuringThreshold=1', '-XX:G1HeapRegionSize=16m',
  '-XX:G1RSetUpdatingPauseTimePercent=5', '-XX:MaxGCPauseMillis=300', '-XX:InitiatingHeapOccupancyPercent=70',
  '-Djdk.attach.allowAttachSelf=true',
  ...[
    'java.base/jdk.internal.misc', 'java.management.rmi/com.sun.jmx.remote.internal.rmi', 'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server', 'java.sql/java.sql', 'java.base/java.lang.ref', 'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file', 'jdk.attach/sun.tools.attach',
  ].flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang.module', 'java.base/jdk.internal.loader', 'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect', 'java.base/jdk.internal.math', 'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar', 'jdk.management/com.sun.management.internal', 'java.base/sun.nio.ch',
    'java.base/java.io', 'java.base/java.lang.reflect', 'jdk.compiler/com.sun.tools.javac', 'java.base/java.lang',
    'java.base/java.util', 'java.base/java.nio', 'java.base/java.util.concurrent', 'java.base/java.util.concurrent.atomic',
  ].flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

function cassandraService(java) {
  const dir = path.join(cfg.dataDir, 'cassandra');
  const logFile = path.join(dir, 'logs', 'cassandra.out');
  return {
    name: 'cassandra',
    logFile,
    probe: probeCassandra,
    timeoutMs: 180000,
    start() {
      const lib = resolveJars('cassandra', { 'cassandra.version': cfg.cassandra.version });
      for (const d of ['data', 'logs', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
      const yaml = [
        'cluster_name: dmp-local',
        'num_tokens: 16',
        'allocate_tokens_for_local_replication_factor: 1',
        'partitioner: org.apache.cassandra.dht.Murmur3Partitioner',
        'endpoint_snitch: SimpleSnitch',
        'commitlog_sync: periodic',
        'commitlog_sync_period: 2000ms',
        'seed_provider:',
        '  - class_name: org.apache.cassandra.locator.SimpleSeedProvider',
        '    parameters:',
        `      - seeds: "${cfg.host}:${cfg.cassandra.storagePort}"`,
        `listen_address: ${cfg.host}`,
        `rpc_address: ${cfg.host}`,
        `storage_port: ${cfg.cassandra.storagePort}`,
        `native_transport_port: ${cfg.cassandra.port}`,
        'start_native_transport: true',
        'auto_snapshot: false',
        'snapshot_before_compaction: false',
        'concurrent_reads: 8',
        'concurrent_writes: 16',
        'concurrent_compactors: 1',
        'memtable_allocation_type: offheap_objects',
        'memtable_heap_space: 128MiB',
        'memtable_offheap_space: 256MiB',
        'key_cache_size: 16MiB',
        'batch_size_warn_threshold: 64KiB',
        'batch_size_fail_threshold: 640KiB',
        'user_defined_functions_enabled: false',
        'authenticator: AllowAllAuthenticator',
        'authorizer: AllowAllAuthorizer',
        '',
      ].join('\n');
      const yamlFile = path.join(dir, 'cassandra.yaml');
      fs.writeFileSync(yamlFile, yaml);
      const logback = `<configuration scan="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.thinkaurelius.thrift" level="ERROR"/>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
`;
      const logbackFile = path.join(dir, 'logback.xml');
      fs.writeFileSync(logbackFile, logback);
      const jamm = fs.readdirSync(lib).find((f) => /^jamm-.*\.jar$/.test(f));
      const args = [
        `-Xms${cfg.cassandra.heap}`, `-Xmx${cfg.cassandra.heap}`, '-Xss256k',
        ...CASSANDRA_JVM17,
        ...(jamm ? [`-javaagent:${path.join(lib, jamm)}`] : []),
        '-Djava.net.preferIPv4Stack=true',
        `-Djava.io.tmpdir=${path.join(dir, 'tmp')}`,
        '-Dchronicle.analytics.disable=true',
        '-Dcassandra-foreground=yes',
        `-Dcassandra.config=file://${yamlFile}`,
        `-Dcassandra.storagedir=${path.join(dir, 'data')}`,
        `-Dcassandra.logdir=${path.join(dir, 'logs')}`,
        `-Dlogback.configurationFile=${logbackFile}`,
        '-Dcassandra.skip_wait_for_gossip_to_settle=0',
        '-Dcassandra.jmx.local.port=0',
        ...(cfg.cassandra.unsafeSystem ? ['-Dcassandra.unsafesystem=true'] : []),
        '-cp', `${lib}/*`,
        'org.apache.cassandra.service.CassandraDaemon',
      ];
      return startDetached('cassandra', java, args, logFile);
    },
  };
}

// ---------------------------------------------------------------- commands

async function up() {
  const t0 = Date.now();
  const needJars = ![libDir('kafka', cfg.kafka.version), libDir('cassandra', cfg.cassandra.version)].every((d) =>
    fs.existsSync(path.join(d, '.complete')),
  );
  const java = ensurePrerequisites({ needMaven: needJars });
  const services = [redisService(), kafkaService(java), cassandraService(java)];
  const waits = services.map(async (s) => {
    let pid = readPid(s.name);
    if (alive(pid)) {
      log(`${s.name}: already running (pid ${pid})`);
    } else {
      try {
        await s.probe();
        throw new Error(
          `${s.name}: something not started by this script already answers on its port; stop it or change the port (see deploy/local/stack-config.mjs)`,
        );
      } catch (e) {
        if (String(e.message).includes('already answers')) throw e;
      }
      pid = s.start();
      log(`${s.name}: started (pid ${pid}), log ${path.relative(root, s.logFile)}`);
    }
    const ms = await waitFor(s.name, s.probe, { timeoutMs: s.timeoutMs, logFile: s.logFile, pid });
    log(`${s.name}: ready (${(ms / 1000).toFixed(1)} s)`);
  });
  const results = await Promise.allSettled(waits);
  const failed = results.filter((r) => r.status === 'rejected');
  for (const f of failed) console.error(`[stack] ${f.reason?.message ?? f.reason}`);
  if (failed.length) process.exit(1);
  log(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: redis ${cfg.host}:${cfg.redis.port}, kafka ${cfg.host}:${cfg.kafka.port}, cassandra ${cfg.host}:${cfg.cassandra.port}`);
}

async function down() {
  for (const svc of ['cassandra', 'kafka', 'redis']) {
    const pid = readPid(svc);
    if (!alive(pid)) {
      log(`${svc}: not running`);
      fs.rmSync(pidFile(svc), { force: true });
      continue;
    }
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 60000;
    while (alive(pid) && Date.now() < deadline) await sleep(200);
    if (alive(pid)) {
      log(`${svc}: did not stop within 60 s, SIGKILL`);
      process.kill(pid, 'SIGKILL');
    }
    fs.rmSync(pidFile(svc), { force: true });
    log(`${svc}: stopped`);
  }
}

async function status() {
  const probes = { redis: probeRedis, kafka: probeKafka, cassandra: probeCassandra };
  let allOk = true;
  for (const [svc, probe] of Object.entries(probes)) {
    const pid = readPid(svc);
    const running = alive(pid);
    let answering = false;
    if (running) answering = await probe().then(() => true, () => false);
    allOk &&= answering;
    console.log(`${svc.padEnd(10)} ${running ? `running pid ${pid}` : 'stopped'}${running ? (answering ? ', answering' : ', NOT answering') : ''}`);
  }
  process.exitCode = allOk ? 0 : 3;
}

function logs(args) {
  const n = Number(args[args.indexOf('-n') + 1]) || 50;
  const files = {
    redis: path.join(cfg.dataDir, 'redis', 'redis.log'),
    kafka: path.join(cfg.dataDir, 'kafka', 'logs', 'kafka.out'),
    cassandra: path.join(cfg.dataDir, 'cassandra', 'logs', 'cassandra.out'),
  };
  const which = args.filter((a) => a in files);
  for (const svc of which.length ? which : Object.keys(files)) {
    console.log(`==> ${svc}: ${files[svc]}`);
    console.log(tail(files[svc], n));
  }
}

/** Prints `export VAR=value` lines that point the services' config at this stack. */
function env() {
  const vars = {
    REDIS_URL: `redis://${cfg.host}:${cfg.redis.port}`,
    KAFKA_BROKERS: `${cfg.host}:${cfg.kafka.port}`,
    CASSANDRA_CONTACT_POINTS: `${cfg.host}:${cfg.cassandra.port}`,
    CASSANDRA_LOCAL_DC: 'datacenter1',
  };
  for (const [k, v] of Object.entries(vars)) console.log(`export ${k}=${v}`);
}

const [cmd, ...rest] = process.argv.slice(2);
const commands = { up, down, status, env, logs: () => logs(rest) };
if (!commands[cmd]) {
  console.error('usage: node deploy/local/stack.mjs up|down|status|env|logs [redis|kafka|cassandra] [-n N]');
  process.exit(2);
}
try {
  await commands[cmd]();
} catch (e) {
  console.error(`[stack] ${e.message ?? e}`);
  process.exit(1);
}
// kafkajs / cassandra-driver may keep timers around after shutdown
if (cmd !== 'logs' && cmd !== 'env') process.exit(process.exitCode ?? 0);
