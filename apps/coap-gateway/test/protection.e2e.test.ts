// R-SEC-9 protection of the CoAP edge, on live sockets against real gateway processes,
// Redis and Kafka: fuzzing, RFC 7252 answers to malformed input, size limit, per-source
// rate limit, duplicate CON, amplification bound, and Kafka unavailability (5.03).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { CoapCode, CoapType, ContentFormat, encode, OptionNumber, stringOption, uintOption, uriPathOptions } from '@dmp/coap';
import { decodeMessage, type DeviceEvent, Topics } from '@dmp/contracts';
import { ROOT, stack, uniqueName, waitUntil } from '@dmp/testing';
import { coapClient, deviceEvents, type GatewayProcess, redisClient, responseLine, startGateway, testImei, type TopicCollector } from './harness';
import { codeText, freshMid, metric, registerBytes, rejectReasons, rejects, scrapeMetrics, token, UdpPeer, updateBytes } from './udp-peer';

const MAX_QUEUED = 100; // GATEWAY_MAX_QUEUED_EVENTS: the smallest value the config accepts
let gw: GatewayProcess; // default protection settings, small event queue
let limited: GatewayProcess; // COAP_RATE_PER_SEC=5, COAP_RATE_BURST=5
let events: TopicCollector<DeviceEvent>;
const redis = redisClient();

beforeAll(async () => {
  [gw, limited, events] = await Promise.all([
    startGateway(uniqueName('gw_prot'), { GATEWAY_MAX_QUEUED_EVENTS: String(MAX_QUEUED) }),
    startGateway(uniqueName('gw_rate'), { COAP_RATE_PER_SEC: '5', COAP_RATE_BURST: '5' }),
    deviceEvents(),
    redis.connect(),
  ]).then(([a, b, e]) => [a, b, e] as const);
  expect(gw.httpUrl).toMatch(/^http:\/\//);
  expect(limited.httpUrl).toMatch(/^http:\/\//);
});
afterAll(async () => {
  await Promise.allSettled([gw?.stop(), limited?.stop(), events?.close(), redis.quit()]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seeded PRNG (mulberry32), so a failing run can be replayed with the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('R-SEC-9 live-socket fuzzing', () => {
  it('survives 20,000 random and mutated datagrams, counts parse rejects, never amplifies, and still registers', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
    const rnd = prng(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const imei = testImei();
    const notification = (type: CoapType) =>
      encode({
        type,
        code: CoapCode.CONTENT,
        mid: 0,
        token: token(int(9)),
        options: [uintOption(OptionNumber.OBSERVE, int(1000)), uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.TEXT_PLAIN)],
        payload: Buffer.from(String(int(100000))),
      });
    const templates = [
      () => registerBytes(imei, { lt: 60 }),
      () => registerBytes(imei, { lt: 60, type: CoapType.NON }),
      () => updateBytes(imei, { query: ['lt=60'] }),
      () => notification(CoapType.CON),
      () => notification(CoapType.NON),
    ];
    const mutate = (b: Buffer): Buffer => {
      let out = b;
      for (let k = 1 + int(4); k > 0; k--) {
        const at = int(Math.max(1, out.length));
        switch (int(7)) {
          case 0: // flip a bit
            if (out.length) out[at] = out[at]! ^ (1 << int(8));
            break;
          case 1: // replace a byte
            if (out.length) out[at] = int(256);
            break;
          case 2: // truncate
            out = out.subarray(0, at);
            break;
          case 3: // insert random bytes
            out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))), out.subarray(at)]);
            break;
          case 4: // duplicate a slice (repeated options)
            out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + int(12)), out.subarray(at)]);
            break;
          case 5: // any token length, including the reserved 9..15
            if (out.length) out[0] = (out[0]! & 0xf0) | int(16);
            break;
          default: // any type and code
            if (out.length > 1) out[int(2)] = int(256);
        }
      }
      return Buffer.from(out);
    };

    const peer = await UdpPeer.open();
    const before = await scrapeMetrics(gw.httpUrl);
    const sent: Buffer[] = [];
    const t0 = Date.now();
    try {
      for (let i = 0; i < 20_000 && Date.now() - t0 < 15_000; i++) {
        let b: Buffer;
        if (rnd() < 0.3) b = Buffer.from(Array.from({ length: int(rnd() < 0.8 ? 64 : 600) }, () => int(256)));
        else b = mutate(templates[int(templates.length)]!());
        if (b.length >= 4) b.writeUInt16BE(i & 0xffff, 2); // unique MID: answers pair with their request
        sent.push(b);
        void peer.send(b, gw.coapPort).catch(() => undefined);
        if (i % 100 === 99) await sleep(4);
      }
      await sleep(1500);
    } finally {
      await peer.close();
    }
    const took = Date.now() - t0;

    // 1. every answer is a well-formed CoAP message and no bigger than 3 × its request + 64
    const byToken = new Map<string, number>();
    for (const b of sent) {
      const tkl = b.length >= 1 ? b[0]! & 0x0f : 99;
      if (b.length >= 4 + tkl && tkl <= 8) {
        const k = b.subarray(4, 4 + tkl).toString('hex');
        byToken.set(k, Math.max(byToken.get(k) ?? 0, b.length));
      }
    }
    const violations: string[] = [];
    for (const r of peer.received) {
      if (!r.msg) {
        violations.push(`undecodable answer ${r.bytes.toString('hex')}`);
        continue;
      }
      const reqLen =
        r.msg.type === CoapType.ACK || r.msg.type === CoapType.RST ? sent[r.msg.mid]?.length : byToken.get(Buffer.from(r.msg.token).toString('hex'));
      if (reqLen === undefined) violations.push(`answer with no request: ${r.bytes.toString('hex')}`);
      else if (r.bytes.length > 3 * reqLen + 64) violations.push(`amplification ${reqLen} → ${r.bytes.length}: ${r.bytes.toString('hex')}`);
    }
    expect({ seed, violations: violations.slice(0, 5) }).toEqual({ seed, violations: [] });
    expect(sent.length).toBeGreaterThan(5_000);
    expect(peer.received.length).toBeGreaterThan(100);

    // 2. alive and serving: health, metrics with parse reasons, and a real client registers
    const live = await fetch(`${gw.httpUrl}/health/live`);
    expect(live.status).toBe(200);
    const after = await scrapeMetrics(gw.httpUrl);
    const beforeParse = rejectReasons(before, 'parse_');
    const parseReasons = [...rejectReasons(after, 'parse_')].map(([r, n]) => [r, n - (beforeParse.get(r) ?? 0)] as const).filter(([, n]) => n > 0);
    expect(parseReasons.length).toBeGreaterThanOrEqual(3);
    expect(rejects(after, 'parse_tkl_reserved') - rejects(before, 'parse_tkl_reserved')).toBeGreaterThan(0);
    const parsed = parseReasons.reduce((s, [, n]) => s + n, 0);
    const malformed = metric(after, 'dmp_gateway_datagrams_in_total', { type: 'malformed' }) - metric(before, 'dmp_gateway_datagrams_in_total', { type: 'malformed' });
    expect(parsed).toBe(malformed);
    expect(parsed).toBeGreaterThan(1000);
    const out = await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', `coap://127.0.0.1:${gw.coapPort}/rd?ep=urn:imei:${testImei()}&lt=60`]);
    expect(responseLine(out)).toMatch(/c:2\.01/);
    console.log(`fuzz seed ${seed}: ${sent.length} datagrams in ${took} ms, ${peer.received.length} answers, parse rejects ${parsed}`);
  }, 60_000);
});

describe('R-SEC-9 RFC 7252 answers to malformed input', () => {
  let peer: UdpPeer;
  beforeAll(async () => (peer = await UdpPeer.open()));
  afterAll(() => peer.close());

  it('CON with token length 9 → RST with its MID (§3, §4.2)', async () => {
    const mid = freshMid();
    const b = Buffer.concat([Buffer.from([0x49, CoapCode.POST, mid >> 8, mid & 0xff]), Buffer.alloc(9, 0xab)]);
    const r = await peer.request(b, gw.coapPort);
    expect(r.msg).toMatchObject({ type: CoapType.RST, code: CoapCode.EMPTY, mid });
    expect(r.bytes.length).toBe(4);
  });

  it('CON request with an unrecognised critical option → 4.02 piggybacked with the token (§5.4.1)', async () => {
    const mid = freshMid();
    // option 9 (odd = critical, unassigned), empty value
    const b = Buffer.from([0x42, CoapCode.POST, mid >> 8, mid & 0xff, 0xca, 0xfe, 0x90]);
    const r = await peer.request(b, gw.coapPort);
    expect(r.msg).toMatchObject({ type: CoapType.ACK, code: CoapCode.BAD_OPTION, mid });
    expect(Buffer.from(r.msg!.token).toString('hex')).toBe('cafe');
  });

  it('an unrecognised elective option is ignored: the request is served (§5.4.1)', async () => {
    const b = encode({ type: CoapType.CON, code: CoapCode.GET, mid: freshMid(), token: token(), options: [...uriPathOptions(['nothing']), stringOption(2050, 'x')] });
    expect(codeText(await peer.request(b, gw.coapPort))).toBe('4.04');
  });

  it('malformed NON messages get no answer at all (§4.3)', async () => {
    const m = () => {
      const mid = freshMid();
      return [mid >> 8, mid & 0xff];
    };
    const bad = [
      Buffer.concat([Buffer.from([0x59, CoapCode.POST, ...m()]), Buffer.alloc(9)]), // TKL 9
      Buffer.from([0x52, CoapCode.POST, ...m(), 0xca, 0xfe, 0x90]), // unrecognised critical option
      Buffer.from([0x50, CoapCode.POST, ...m(), 0xf1, 0x00]), // option delta nibble 15
      Buffer.from([0x50, CoapCode.POST, ...m(), 0xb2, 0x72]), // truncated option value
      Buffer.from([0x50, CoapCode.POST, ...m(), 0xff]), // payload marker, no payload
      Buffer.from([0x50, 0x00, ...m()]), // empty NON
      Buffer.from([0x50, 0xe0, ...m()]), // reserved code class 7
    ];
    const from = peer.received.length;
    for (const b of bad) await peer.send(b, gw.coapPort);
    // a valid CON afterwards proves the gateway had processed them (datagrams are handled in order)
    expect(codeText(await peer.request(encode({ type: CoapType.CON, code: CoapCode.GET, mid: freshMid(), token: token(), options: uriPathOptions(['x']) }), gw.coapPort))).toBe('4.04');
    const extra = (await peer.collect(from, 300)).filter((r) => r.msg?.type !== CoapType.ACK || r.msg.code !== CoapCode.NOT_FOUND);
    expect(extra.map((r) => r.bytes.toString('hex'))).toEqual([]);
  });

  it('a datagram larger than COAP_MAX_DATAGRAM (2048) is dropped unanswered and counted; 2048 bytes are served', async () => {
    const big = (size: number) => {
      const head = encode({ type: CoapType.CON, code: CoapCode.POST, mid: freshMid(), token: token(), options: uriPathOptions(['nothing']), payload: Buffer.from('x') });
      return Buffer.concat([head, Buffer.alloc(size - head.length, 0x61)]);
    };
    const before = rejects(await scrapeMetrics(gw.httpUrl), 'datagram_too_large');
    const tooBig = big(2049);
    expect(tooBig.length).toBe(2049);
    const from = peer.received.length;
    await peer.send(tooBig, gw.coapPort);
    const fits = big(2048);
    expect(codeText(await peer.request(fits, gw.coapPort))).toBe('4.04');
    const answers = await peer.collect(from, 300);
    expect(answers.filter((r) => r.msg?.mid === tooBig.readUInt16BE(2))).toEqual([]);
    expect(rejects(await scrapeMetrics(gw.httpUrl), 'datagram_too_large')).toBe(before + 1);
  });
});

describe('R-SEC-9 amplification bound for unknown sources', () => {
  it('the smallest requests that draw a diagnostic payload get at most 3 × their size + 64 bytes', async () => {
    const peer = await UdpPeer.open();
    try {
      const q = (s: string) => stringOption(OptionNumber.URI_QUERY, s);
      const reqs = [
        { options: uriPathOptions(['rd']) }, // missing ep
        { options: [...uriPathOptions(['rd']), q('=')] }, // empty parameter name
        { options: [...uriPathOptions(['rd']), q('ep=a')] }, // no EPI
        { options: [...uriPathOptions(['rd']), q('ep=a'), q('ep=a')] }, // duplicate parameter
        { options: [...uriPathOptions(['rd']), uintOption(OptionNumber.CONTENT_FORMAT, 0), q(`ep=urn:imei:${testImei()}`)] }, // 4.15
        { options: [...uriPathOptions(['rd', testImei()]), q('b=x')] }, // Update, bad binding
        { options: [...uriPathOptions(['rd', testImei()]), q('zz')] }, // Update, unexpected parameter
        { options: [...uriPathOptions(['rd', testImei()]), q('lwm2m=9')] }, // Update, bad version
        { options: uriPathOptions(['dp']) }, // Send from an unknown address
      ].map((r) => encode({ type: CoapType.CON, code: CoapCode.POST, mid: freshMid(), ...r }));
      const sizes: Array<[number, number, string]> = [];
      for (const req of reqs) {
        const r = await peer.request(req, gw.coapPort);
        expect(r.msg?.code).toBeGreaterThanOrEqual(CoapCode.BAD_REQUEST);
        sizes.push([req.length, r.bytes.length, Buffer.from(r.msg!.payload).toString()]);
      }
      expect(sizes.filter(([q, a]) => a > 3 * q + 64)).toEqual([]);
      expect(sizes.filter(([, , diag]) => diag.length > 0).length).toBeGreaterThanOrEqual(8);
    } finally {
      await peer.close();
    }
  });
});

describe('R-SEC-9 per-source rate limit (COAP_RATE_PER_SEC=5, COAP_RATE_BURST=5)', () => {
  it('a burst of 50 pings from one source gets about the burst answered; another source is unaffected', async () => {
    const a = await UdpPeer.open('127.0.0.1');
    const b = await UdpPeer.open('127.0.0.2');
    try {
      const before = rejects(await scrapeMetrics(limited.httpUrl), 'rate_limited');
      const ping = () => encode({ type: CoapType.CON, code: CoapCode.EMPTY, mid: freshMid() });
      for (let i = 0; i < 50; i++) await a.send(ping(), limited.coapPort);
      const answered = (await a.collect(0, 400)).filter((r) => r.msg?.type === CoapType.RST);
      expect(answered.length).toBeGreaterThanOrEqual(5);
      expect(answered.length).toBeLessThanOrEqual(6);
      // the other source still has its full burst
      for (let i = 0; i < 5; i++) await b.send(ping(), limited.coapPort);
      expect((await b.collect(0, 400)).filter((r) => r.msg?.type === CoapType.RST)).toHaveLength(5);
      expect(rejects(await scrapeMetrics(limited.httpUrl), 'rate_limited') - before).toBeGreaterThanOrEqual(44);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('R-SEC-9 duplicate CON (RFC 7252 §4.5)', () => {
  it('a retransmitted Register gets the same response bytes and publishes ONE `registered` event', async () => {
    const peer = await UdpPeer.open();
    try {
      const imei = testImei();
      const req = registerBytes(imei);
      const first = await peer.request(req, gw.coapPort);
      expect(codeText(first)).toBe('2.01');
      const second = await peer.request(req, gw.coapPort);
      expect(second.bytes.equals(first.bytes)).toBe(true);
      const third = await peer.request(req, gw.coapPort);
      expect(third.bytes.equals(first.bytes)).toBe(true);
      await events.waitFor('registered', (e) => e.epi === imei && e.type === 'registered');
      await sleep(1500);
      expect(events.items.filter((e) => e.epi === imei)).toHaveLength(1);
      expect(rejects(await scrapeMetrics(gw.httpUrl), 'duplicate')).toBeGreaterThanOrEqual(2);
      } finally {
      await peer.close();
    }
  });
});

describe('R-SEC-9 Kafka unavailable: bounded event queue, 5.03 + Max-Age, nothing lost', () => {
  it(`answers 2.01 while the ${MAX_QUEUED}-event queue has room, then 5.03 with Max-Age; every accepted registration's event arrives after Kafka is back`, async () => {
    const topic = Topics.deviceEvents.name;
    const kafka = new Kafka({ clientId: uniqueName('e2e_freeze'), brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const start = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    // the gateway's queue must be empty before the broker stops
    await waitUntil('empty event queue', async () => metric(await scrapeMetrics(gw.httpUrl), 'dmp_gateway_event_queue') === 0, 20_000);

    const kafkaPid = Number(readFileSync(path.join(ROOT, '.dmp/pids/kafka.pid'), 'utf8').trim().split(/\s+/)[0]);
    expect(kafkaPid).toBeGreaterThan(1);
    const peer = await UdpPeer.open();
    const answers: Array<{ imei: string; code: string; maxAge: number | undefined }> = [];
    let frozenMs = 0;
    try {
      const t0 = Date.now();
      process.kill(kafkaPid, 'SIGSTOP');
      try {
        // the broker is stopped (state T) before the first registration
        await waitUntil('kafka stopped', async () => readFileSync(`/proc/${kafkaPid}/stat`, 'utf8').split(') ')[1]?.startsWith('T'), 2000, 10);
        for (let i = 0; i < MAX_QUEUED + 30 && Date.now() - t0 < 12_000; i++) {
          const imei = testImei();
          const r = await peer.request(registerBytes(imei, { lt: 120 }), gw.coapPort);
          answers.push({ imei, code: codeText(r), maxAge: r.msg?.maxAge });
          if (answers.filter((a) => a.code === '5.03').length >= 10) break;
        }
      } finally {
        process.kill(kafkaPid, 'SIGCONT');
        frozenMs = Date.now() - t0;
      }
    } finally {
      await peer.close();
    }
    expect(frozenMs).toBeLessThan(20_000);
    const accepted = answers.filter((a) => a.code === '2.01');
    const refused = answers.filter((a) => a.code !== '2.01');
    // exactly the queue's room is accepted, then everything is refused
    const sequence = answers.map((a) => a.code).join(' ');
    expect(sequence).toBe([...Array<string>(MAX_QUEUED).fill('2.01'), ...Array<string>(refused.length).fill('5.03')].join(' '));
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.every((a) => a.code === '5.03' && a.maxAge === 30)).toBe(true);
    // a refused registration was not written
    for (const a of refused) expect(await redis.exists(`dmp:reg:${a.imei}`)).toBe(0);

    // every accepted registration's event reaches Kafka once the broker runs again
    const want = new Set(accepted.map((a) => a.imei));
    const seen = new Set<string>();
    const consumer = kafka.consumer({ groupId: uniqueName('e2e_freeze'), sessionTimeout: 10_000 });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: false });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const ev = decodeMessage(Topics.deviceEvents, message.key, message.value).value;
          if (ev.type === 'registered' && want.has(ev.epi)) seen.add(ev.epi);
        },
      });
      for (const p of start) consumer.seek({ topic, partition: p.partition, offset: p.offset });
      await waitUntil(`${want.size} registered events (have ${seen.size})`, async () => seen.size === want.size, 45_000, 200);
    } finally {
      await consumer.disconnect();
    }
    expect(seen.size).toBe(MAX_QUEUED);
    // and the gateway accepts registrations again
    const again = await UdpPeer.open();
    try {
      expect(codeText(await again.request(registerBytes(testImei()), gw.coapPort))).toBe('2.01');
    } finally {
      await again.close();
    }
  }, 90_000);
});
