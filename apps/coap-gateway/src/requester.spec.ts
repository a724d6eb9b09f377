import { ack, CoapCode, type CoapMessage, CoapType, decode, encode, MidGenerator, piggybacked, rst } from '@dmp/coap';
import type { Peer } from './coap-server';
import { RequestFailure, Requester, type RequestTransport } from './requester';

const peer: Peer = { address: '127.0.0.1', port: 5683, family: 'udp4' };
const other: Peer = { address: '127.0.0.1', port: 5684, family: 'udp4' };

class FakeSocket implements RequestTransport {
  readonly mids = new MidGenerator();
  readonly sent: CoapMessage[] = [];
  send(buf: Uint8Array): void {
    this.sent.push(decode(Buffer.from(buf)).clone());
  }
}

function setup(maxRetransmit = 2) {
  const sock = new FakeSocket();
  let retransmits = 0;
  const r = new Requester(sock, { ackTimeoutMs: 20, maxRetransmit, separateResponseTimeoutMs: 100, onRetransmit: () => retransmits++, random: () => 0 });
  return { sock, r, retransmits: () => retransmits };
}

describe('RFC 7252 §4.2 / §5.2 CON request with retransmission (requester)', () => {
  it('sends a CON with the options and resolves with the piggybacked response', async () => {
    const { sock, r } = setup();
    const p = r.request(peer, { code: CoapCode.PUT, uriPath: ['0', '1'], contentFormat: 11542, payload: Buffer.from([1, 2]) });
    const req = sock.sent[0]!;
    expect(req).toMatchObject({ type: CoapType.CON, code: CoapCode.PUT, uriPath: ['0', '1'], contentFormat: 11542 });
    expect(req.token.length).toBe(8);
    expect(r.onMessage(decode(encode(piggybacked(req, CoapCode.CHANGED, { payload: Buffer.from('ok') }))), peer)).toBe(true);
    await expect(p).resolves.toMatchObject({ code: CoapCode.CHANGED, payload: Buffer.from('ok') });
    expect(r.outstanding).toBe(0);
  });

  it('retransmits MAX_RETRANSMIT times with the same MID, then fails with TIMEOUT', async () => {
    const { sock, r, retransmits } = setup(2);
    await expect(r.request(peer, { code: CoapCode.DELETE, uriPath: ['1'] })).rejects.toMatchObject({ reason: 'TIMEOUT' });
    expect(sock.sent).toHaveLength(3);
    expect(new Set(sock.sent.map((m) => m.mid)).size).toBe(1);
    expect(retransmits()).toBe(2);
  });

  it('empty ACK then a separate CON response matched by token', async () => {
    const { sock, r } = setup();
    const p = r.request(peer, { code: CoapCode.POST, uriPath: ['bs'] });
    const req = sock.sent[0]!;
    expect(r.onMessage(decode(ack(req.mid)), peer)).toBe(true);
    // same token from another address is not ours
    const sep = (from: number) => decode(encode({ type: CoapType.CON, code: CoapCode.CHANGED, mid: from, token: req.token }));
    expect(r.onMessage(sep(7), other)).toBe(false);
    expect(r.onMessage(sep(8), peer)).toBe(true);
    await expect(p).resolves.toMatchObject({ code: CoapCode.CHANGED });
    // no retransmission after the empty ACK
    await new Promise((res) => setTimeout(res, 80));
    expect(sock.sent).toHaveLength(1);
  });

  it('empty ACK without a separate response → TIMEOUT', async () => {
    const { sock, r } = setup();
    const p = r.request(peer, { code: CoapCode.POST, uriPath: ['bs'] });
    r.onMessage(decode(ack(sock.sent[0]!.mid)), peer);
    await expect(p).rejects.toMatchObject({ reason: 'TIMEOUT', message: 'no separate response' });
  });

  it('Reset → RESET; unknown MIDs and duplicates are not ours', async () => {
    const { sock, r } = setup();
    const p = r.request(peer, { code: CoapCode.GET, uriPath: ['3', '0'] });
    const mid = sock.sent[0]!.mid;
    expect(r.onMessage(decode(rst((mid + 1) & 0xffff)), peer)).toBe(false);
    expect(r.onMessage(decode(rst(mid)), other)).toBe(false);
    expect(r.onMessage(decode(rst(mid)), peer)).toBe(true);
    await expect(p).rejects.toBeInstanceOf(RequestFailure);
    await expect(p).rejects.toMatchObject({ reason: 'RESET' });
    expect(r.onMessage(decode(rst(mid)), peer)).toBe(false);
  });

  it('close() cancels outstanding requests', async () => {
    const { r } = setup();
    const p = r.request(peer, { code: CoapCode.GET, uriPath: ['3'] });
    r.close();
    await expect(p).rejects.toMatchObject({ reason: 'CANCELLED' });
    expect(r.outstanding).toBe(0);
  });
});
