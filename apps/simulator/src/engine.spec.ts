import dgram from 'node:dgram';
import fc from 'fast-check';
import { CoapCode, CoapType, ContentFormat, decode, encode, locationPathOptions, OptionNumber, uintOption, uriPathOptions, type CoapMessage } from '@dmp/coap';
import { encodeTlv, newObjectInstance, newSingleResource, LwM2mPath, ObjectModelRegistry } from '@dmp/lwm2m';
import { Engine, type EngineOptions, parseCoapUri, serverUriFromSecurityTlv, UeState } from './engine';
import { validateConfig } from './options';
import { runSimulation } from './simulator';
import { fakeIdentity, FakeClock, FakeModel, FakeTransport } from './testing/doubles';

const OPTS: EngineOptions = {
  ues: 1,
  firstIndex: 0,
  lifetimeS: 300,
  jitter: 0.1,
  binding: 'U',
  awakeMs: 5000,
  notify: 'non',
  sendIntervalS: 0,
  target: { host: '127.0.0.1', port: 5683 },
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
};

function setup(opts: Partial<EngineOptions> = {}, slots = 4) {
  const clock = new FakeClock();
  const model = new FakeModel();
  const transport = new FakeTransport(slots, clock);
  const engine = new Engine({ ...OPTS, ...opts }, { identity: fakeIdentity, model, clock, random: () => 0.5 });
  engine.attach(transport);
  const advance = (ms: number, step = 10) => {
    for (let t = 0; t < ms; t += step) {
      clock.t += Math.min(step, ms - t);
      engine.tick();
    }
  };
  const last = (): { m: CoapMessage; slot: number; port: number; host: string } => {
    const s = transport.sent[transport.sent.length - 1]!;
    return { m: decode(s.bytes), slot: s.slot, port: s.port, host: s.host };
  };
  const reply = (slot: number, to: CoapMessage, code: number, extra: Parameters<typeof encode>[0]['options'] = []) =>
    engine.onDatagram(slot, encode({ type: CoapType.ACK, code, mid: to.mid, token: to.token, options: extra }));
  const request = (slot: number, mid: number, init: { code: number; path: string; observe?: number; type?: number; accept?: number }) =>
    engine.onDatagram(
      slot,
      encode({
        type: (init.type ?? CoapType.CON) as 0,
        code: init.code,
        mid,
        token: Buffer.from([1, 2, 3, mid & 0xff]),
        options: [...(init.observe !== undefined ? [uintOption(OptionNumber.OBSERVE, init.observe)] : []), ...uriPathOptions(init.path), ...(init.accept !== undefined ? [uintOption(OptionNumber.ACCEPT, init.accept)] : [])],
      }),
    );
  return { clock, model, transport, engine, advance, last, reply, request };
}

async function registered(opts: Partial<EngineOptions> = {}, slots = 4) {
  const s = setup(opts, slots);
  const done = s.engine.ramp(1000);
  s.advance(10);
  const { m, slot } = s.last();
  s.reply(slot, m, CoapCode.CREATED, locationPathOptions('rd/abc'));
  s.advance(10);
  await done;
  return s;
}

describe('engine: registration lifecycle (wire bytes)', () => {
  it('registers with ep, lt, lwm2m, b and the model links, then updates at lifetime/2 and de-registers', async () => {
    const s = setup();
    const done = s.engine.ramp(1000);
    s.advance(20);
    const { m, slot } = s.last();
    expect(m.type).toBe(CoapType.CON);
    expect(m.code).toBe(CoapCode.POST);
    expect(m.uriPath).toEqual(['rd']);
    expect(m.uriQuery).toEqual(['ep=urn:imei:860000000000000', 'lt=300', 'lwm2m=1.1', 'b=U']);
    expect(m.contentFormat).toBe(ContentFormat.LINK_FORMAT);
    expect(Buffer.from(m.payload).toString()).toBe('</1/0>,</3/0>,</4/0>');
    expect(m.token.length).toBe(4);
    s.reply(slot, m, CoapCode.CREATED, locationPathOptions('rd/abc'));
    s.advance(10);
    await done;
    expect(s.engine.stateOf(0)).toBe(UeState.REGISTERED);
    expect(s.engine.locationOf(0)).toBe('rd/abc');
    expect(s.engine.stats.counts.registerOk).toBe(1);

    // lifetime/2 = 150 s, jitter 10 % with random 0.5 → exactly 150 s.
    const sentBefore = s.transport.sent.length;
    s.advance(149_900, 100);
    expect(s.transport.sent.length).toBe(sentBefore);
    s.advance(200, 10);
    const u = s.last();
    expect(u.m.code).toBe(CoapCode.POST);
    expect(u.m.uriPath).toEqual(['rd', 'abc']);
    expect(u.m.uriQuery).toEqual([]);
    expect(u.m.payloadLength).toBe(0);
    expect(u.m.mid).toBe((m.mid + 1) & 0xffff);
    s.reply(u.slot, u.m, CoapCode.CHANGED);
    expect(s.engine.stats.counts.updateOk).toBe(1);

    const dereg = s.engine.deregisterAll(0);
    s.advance(10);
    const d = s.last();
    expect(d.m.code).toBe(CoapCode.DELETE);
    expect(d.m.uriPath).toEqual(['rd', 'abc']);
    s.reply(d.slot, d.m, CoapCode.DELETED);
    s.advance(10);
    await dereg;
    expect(s.engine.stats.counts.deregisterOk).toBe(1);
    expect(s.engine.stateOf(0)).toBe(UeState.DEREGISTERED);
    expect(s.engine.freeSlots).toBe(4);
    expect(s.engine.stats.responsesByCode).toEqual({ '2.01': 1, '2.04': 1, '2.02': 1 });
  });

  it('retransmits a CON at ACK_TIMEOUT × factor, doubling, MAX_RETRANSMIT times, then gives up', () => {
    const s = setup();
    void s.engine.ramp(1000);
    s.advance(10);
    const t0 = s.transport.sent[0]!.at;
    s.advance(84_000, 10);
    const at = s.transport.sent.map((x) => x.at - t0);
    // random 0.5 → initial timeout 2000 × 1.25 = 2500 ms; then 5000, 10000, 20000; give up after 40000 more.
    // The wheel fires at most one 10 ms tick late, and lateness does not accumulate.
    const expected = [0, 2500, 7500, 17500, 37500];
    at.slice(0, 5).forEach((x, i) => {
      expect(x).toBeGreaterThanOrEqual(expected[i]!);
      expect(x).toBeLessThanOrEqual(expected[i]! + 10);
    });
    expect(new Set(s.transport.sent.slice(0, 5).map((x) => x.bytes.toString('hex'))).size).toBe(1);
    const c = s.engine.stats.counts;
    expect(c.retransmissions).toBe(4);
    expect(c.timeouts).toBe(1);
    expect(c.registerFailed).toBe(1);
    expect(at).toHaveLength(5);
    // The failed UE registers again after a back-off (5 s × 1.5 here).
    s.advance(2000, 10);
    expect(s.transport.sent).toHaveLength(6);
    expect(s.transport.sent[5]!.at - t0).toBeGreaterThanOrEqual(77_500 + 7_500);
  });

  it('stops retransmitting on an empty ACK and takes the separate response', async () => {
    const s = setup();
    const done = s.engine.ramp(1000);
    s.advance(10);
    const { m, slot } = s.last();
    s.engine.onDatagram(slot, encode({ type: CoapType.ACK, code: 0, mid: m.mid }));
    s.advance(10_000);
    expect(s.transport.sent).toHaveLength(1);
    s.engine.onDatagram(slot, encode({ type: CoapType.CON, code: CoapCode.CREATED, mid: 999, token: m.token, options: locationPathOptions('rd/sep') }));
    const ack = s.last();
    expect(ack.m.type).toBe(CoapType.ACK);
    expect(ack.m.mid).toBe(999);
    s.advance(10);
    await done;
    expect(s.engine.locationOf(0)).toBe('rd/sep');
  });

  it('re-registers at once when an Update gets 4.04', async () => {
    const s = await registered({ lifetimeS: 2, jitter: 0 });
    s.advance(1010);
    const u = s.last();
    s.reply(u.slot, u.m, CoapCode.NOT_FOUND);
    s.advance(10);
    const r = s.last();
    expect(r.m.uriPath).toEqual(['rd']);
    expect(s.engine.stats.counts.updateFailed).toBe(1);
  });

  it('sends LwM2M Send (POST /dp, SenML CBOR) every send interval, not just once', async () => {
    const s = await registered({ sendIntervalS: 5, lifetimeS: 3600 });
    const sends = () => s.transport.sent.map((x) => decode(x.bytes)).filter((m) => m.uriPath.join('/') === 'dp');
    for (let i = 1; i <= 3; i++) {
      s.advance(5010, 10);
      const all = sends();
      expect(all.length).toBe(i);
      const m = all[all.length - 1]!;
      expect(m.contentFormat).toBe(ContentFormat.SENML_CBOR);
      s.reply(s.last().slot, m, CoapCode.CHANGED);
    }
    expect(s.engine.stats.counts.sendsSent).toBe(3);
  });

  it('de-registers at the given rate without walking never-started UEs at that rate (stop during ramp-up)', async () => {
    const s = setup({ ues: 1000 });
    void s.engine.ramp(1);
    s.advance(10);
    const { m, slot } = s.last();
    s.reply(slot, m, CoapCode.CREATED, locationPathOptions('rd/abc'));
    s.engine.stopRamp();
    let done = false;
    void s.engine.deregisterAll(10).then(() => (done = true));
    s.advance(20);
    const d = s.last();
    expect(d.m.code).toBe(CoapCode.DELETE);
    s.reply(d.slot, d.m, CoapCode.DELETED);
    s.advance(20);
    await Promise.resolve();
    // 999 UEs never started: retired at once, not at 10/s (which would take 100 s)
    expect(done).toBe(true);
    expect(s.engine.stats.counts.deregisterOk).toBe(1);
  });

  it('storm: every registered UE re-registers at once and the storm is measured apart', async () => {
    const s = await registered();
    const storm = s.engine.storm();
    const r = s.last();
    expect(r.m.uriPath).toEqual(['rd']);
    s.clock.t += 7;
    s.reply(r.slot, r.m, CoapCode.CREATED, locationPathOptions('rd/abc2'));
    s.advance(10);
    await storm;
    expect(s.engine.stats.latency.storm.totalCount).toBe(1);
    expect(s.engine.stats.latency.register.totalCount).toBe(1);
    expect(s.engine.registered).toBe(1);
    expect(s.engine.locationOf(0)).toBe('rd/abc2');
  });
});

describe('engine: server requests', () => {
  it('answers a CON read with a piggybacked ACK and replays the answer to a duplicate', async () => {
    const s = await registered();
    const slot = s.engine.slotOfUe(0);
    s.request(slot, 77, { code: CoapCode.GET, path: '/3/0/13' });
    const a = s.last();
    expect(a.m.type).toBe(CoapType.ACK);
    expect(a.m.mid).toBe(77);
    expect([...a.m.token]).toEqual([1, 2, 3, 77]);
    expect(a.m.code).toBe(CoapCode.CONTENT);
    expect(a.m.contentFormat).toBe(0);
    s.request(slot, 77, { code: CoapCode.GET, path: '/3/0/13' });
    expect(s.last().m.raw).toEqual(a.m.raw);
    expect(s.model.requests).toHaveLength(1);
    expect(s.engine.stats.counts.requestsReceived.read).toBe(1);
    expect(s.engine.stats.counts.duplicateRequests).toBe(1);
    s.request(slot, 78, { code: CoapCode.GET, path: '/3/0', accept: ContentFormat.LINK_FORMAT });
    expect(s.engine.stats.counts.requestsReceived.discover).toBe(1);
  });

  it('keeps an observation, notifies with rising Observe numbers and stops on RST', async () => {
    const s = await registered();
    const slot = s.engine.slotOfUe(0);
    s.request(slot, 80, { code: CoapCode.GET, path: '/3/0/13', observe: 0 });
    const first = s.last().m;
    expect(first.observe).toBe(1);
    expect(s.engine.stats.counts.requestsReceived.observe).toBe(1);
    s.advance(1020);
    const n1 = s.last().m;
    expect(n1.type).toBe(CoapType.NON);
    expect(n1.code).toBe(CoapCode.CONTENT);
    expect([...n1.token]).toEqual([1, 2, 3, 80]);
    expect(n1.observe).toBe(2);
    s.advance(1000);
    const n2 = s.last().m;
    expect(n2.observe).toBe(3);
    expect(s.engine.stats.counts.notificationsSent).toBe(2);
    s.engine.onDatagram(slot, encode({ type: CoapType.RST, code: 0, mid: n2.mid }));
    expect(s.engine.observationCount).toBe(0);
    expect(s.engine.stats.counts.notificationsRejected).toBe(1);
    s.advance(3000);
    expect(s.engine.stats.counts.notificationsSent).toBe(2);
  });

  it('sends CON notifications and retransmits them until acknowledged', async () => {
    // ACK timeout 500 ms × 1.25 < the 1 s notification period (a newer CON notification
    // replaces an unacknowledged one, RFC 7641 §4.5.2, so a longer timeout never fires here).
    const s = await registered({ notify: 'con', ackTimeoutMs: 500 });
    const slot = s.engine.slotOfUe(0);
    s.request(slot, 81, { code: CoapCode.GET, path: '/3/0/13', observe: 0 });
    s.advance(1020);
    const n = s.last().m;
    expect(n.type).toBe(CoapType.CON);
    const sent = s.transport.sent.length;
    s.advance(640); // ACK timeout 625 ms: the same notification again
    expect(s.engine.stats.counts.retransmissions).toBe(1);
    expect(s.transport.sent[sent]!.bytes).toEqual(Buffer.from(n.raw));
    s.engine.onDatagram(slot, encode({ type: CoapType.ACK, code: 0, mid: n.mid }));
    s.advance(400); // the next notification (1 s after the first) is a new CON …
    const next = s.last().m;
    expect(next.mid).not.toBe(n.mid);
    const count = s.transport.sent.length;
    s.engine.onDatagram(slot, encode({ type: CoapType.ACK, code: 0, mid: next.mid }));
    s.advance(900); // past its ACK timeout, before the next period
    // … and an acknowledged one is not retransmitted.
    expect(s.transport.sent.length).toBe(count);
    expect(s.engine.stats.counts.retransmissions).toBe(1);
  });
});

describe('engine: queue mode and the socket pool', () => {
  it('releases the socket after the awake window and drops requests while asleep', async () => {
    const s = await registered({ binding: 'UQ', awakeMs: 1000 });
    const slot = s.engine.slotOfUe(0);
    expect(slot).toBeGreaterThanOrEqual(0);
    s.advance(1100);
    expect(s.engine.slotOfUe(0)).toBe(-1);
    const before = s.transport.sent.length;
    s.request(slot, 90, { code: CoapCode.GET, path: '/3/0/13' });
    expect(s.transport.sent.length).toBe(before);
    expect(s.engine.stats.counts.droppedWhileAsleep).toBe(1);
  });

  it('makes UEs wait for a free socket and hands sockets out FIFO', async () => {
    const s = setup({ ues: 3, binding: 'UQ', awakeMs: 500 }, 2);
    const done = s.engine.ramp(1000);
    s.advance(20);
    expect(s.transport.sent.map((x) => x.slot)).toEqual([0, 1]);
    expect(s.engine.stats.counts.poolExhausted).toBe(1);
    for (const x of s.transport.sent.slice(0, 2)) {
      const m = decode(x.bytes);
      s.reply(x.slot, m, CoapCode.CREATED, locationPathOptions(`rd/${x.slot}`));
    }
    s.advance(800);
    const third = s.transport.sent[2]!;
    expect(third.slot).toBe(0); // released first, reused first
    s.reply(third.slot, decode(third.bytes), CoapCode.CREATED, locationPathOptions('rd/x'));
    s.advance(10);
    await done;
    expect(s.engine.registered).toBe(3);
  });
});

describe('engine: bootstrap', () => {
  it('bootstraps, takes the server URI of the Security write and registers there', async () => {
    const s = setup({ bootstrap: { host: '127.0.0.1', port: 5700 } });
    const done = s.engine.ramp(1000);
    s.advance(10);
    const bs = s.last();
    expect(bs.port).toBe(5700);
    expect(bs.m.uriPath).toEqual(['bs']);
    expect(bs.m.uriQuery).toEqual(['ep=urn:imei:860000000000000']);
    s.reply(bs.slot, bs.m, CoapCode.CHANGED);
    s.request(bs.slot, 1, { code: CoapCode.DELETE, path: '/0' });
    expect(s.last().m.code).toBe(CoapCode.DELETED);
    const sec = newObjectInstance(1, [newSingleResource(0, 'STRING', 'coap://127.0.0.1:5999'), newSingleResource(1, 'BOOLEAN', false), newSingleResource(2, 'INTEGER', 3)]);
    const tlv = encodeTlv(sec, LwM2mPath.parse('/0/1'), ObjectModelRegistry.default());
    s.engine.onDatagram(bs.slot, encode({ type: CoapType.CON, code: CoapCode.PUT, mid: 2, token: Buffer.from([9]), options: [...uriPathOptions('/0/1'), uintOption(OptionNumber.CONTENT_FORMAT, 11542)], payload: tlv }));
    expect(s.last().m.code).toBe(CoapCode.CHANGED);
    s.request(bs.slot, 3, { code: CoapCode.POST, path: '/bs' });
    const reg = s.last();
    expect(reg.port).toBe(5999);
    expect(reg.m.uriPath).toEqual(['rd']);
    expect(s.engine.stats.counts.bootstrapOk).toBe(1);
    s.reply(reg.slot, reg.m, CoapCode.CREATED, locationPathOptions('rd/b'));
    s.advance(10);
    await done;
    expect(s.engine.stats.latency.bootstrap.totalCount).toBe(1);
  });

  it('parses coap URIs and Security TLVs defensively', () => {
    expect(parseCoapUri('coap://localhost')).toEqual({ host: '127.0.0.1', port: 5683 });
    expect(parseCoapUri('coap://[::1]:5684')).toEqual({ host: '::1', port: 5684 });
    expect(parseCoapUri('coaps://x')).toBeUndefined();
    expect(serverUriFromSecurityTlv(new Uint8Array([0xff, 0xff]))).toBeUndefined();
  });

  it('never throws on untrusted datagrams and stays registered (property)', async () => {
    const s = await registered();
    const slot = s.engine.slotOfUe(0);
    const request = fc.record({
      type: fc.constantFrom(0, 1),
      code: fc.integer({ min: 1, max: 4 }),
      mid: fc.integer({ min: 0, max: 0xffff }),
      token: fc.uint8Array({ maxLength: 8 }),
      path: fc.array(fc.constantFrom('0', '1', '3', '4', '5', '6', '13', 'bs', 'rd', ''), { maxLength: 4 }),
      observe: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      payload: fc.uint8Array({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), request.map((r) =>
        encode({
          type: r.type as 0,
          code: r.code,
          mid: r.mid,
          token: r.token,
          options: [...(r.observe !== undefined ? [uintOption(OptionNumber.OBSERVE, r.observe)] : []), ...uriPathOptions(r.path)],
          payload: r.payload.length ? r.payload : undefined,
        }),
      )), fc.integer({ min: 0, max: 3 }), (datagram, other) => {
        expect(() => s.engine.onDatagram(slot, datagram)).not.toThrow();
        expect(() => s.engine.onDatagram(other, datagram)).not.toThrow();
        expect(s.engine.stateOf(0)).toBe(UeState.REGISTERED);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('engine over real UDP (in-process server)', () => {
  it('registers, updates and de-registers 3 UEs from their own source addresses', async () => {
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const seen: { from: string; m: CoapMessage }[] = [];
    server.on('message', (buf, rinfo) => {
      const m = decode(Buffer.from(buf)).clone();
      seen.push({ from: rinfo.address, m });
      const loc = m.uriQuery.find((q) => q.startsWith('ep='))?.slice(3).replace(/\W/g, '') ?? '';
      const code = m.uriPath[0] === 'rd' && m.uriPath.length === 1 ? CoapCode.CREATED : m.code === CoapCode.DELETE ? CoapCode.DELETED : CoapCode.CHANGED;
      const options = code === CoapCode.CREATED ? locationPathOptions(`rd/${loc}`) : [];
      server.send(encode({ type: CoapType.ACK, code, mid: m.mid, token: m.token, options }), rinfo.port, rinfo.address);
    });
    try {
      const port = (server.address() as { port: number }).port;
      const config = validateConfig({ target: `coap://127.0.0.1:${port}`, ues: 3, rate: 100, lifetime: 1, jitter: 0, duration: 1.2, metricsPort: 0, sourceIps: '127.77.0.0/24', progressInterval: 10 });
      const report = await runSimulation(config, { device: { identity: fakeIdentity, model: new FakeModel() } });
      expect(report.counts).toMatchObject({ registerOk: 3, updateOk: 6, deregisterOk: 3, timeouts: 0 });
      const regs = seen.filter((x) => x.m.uriPath.length === 1);
      expect(regs.map((x) => x.from).sort()).toEqual(['127.77.0.1', '127.77.0.2', '127.77.0.3']);
      expect(regs.map((x) => x.m.uriQuery[0]).sort()).toEqual(['ep=urn:imei:860000000000000', 'ep=urn:imei:860000000000001', 'ep=urn:imei:860000000000002']);
      const deletes = seen.filter((x) => x.m.code === CoapCode.DELETE);
      expect(deletes.map((x) => x.m.uriPath.join('/')).sort()).toEqual(['rd/urnimei860000000000000', 'rd/urnimei860000000000001', 'rd/urnimei860000000000002']);
      expect(report.phases.map((p) => p.action)).toEqual(['register', 'steady', 'deregister']);
    } finally {
      server.close();
    }
  });
});
