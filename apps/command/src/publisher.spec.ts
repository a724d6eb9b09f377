import type { EventProducer, OutgoingMessage } from '@dmp/kafka';
import { CoalescingPublisher } from './publisher';

/** A producer whose sends stay pending until released. */
function slowProducer() {
  const calls: Array<{ topic: string; keys: Array<string | null>; release: () => void; fail: (e: Error) => void }> = [];
  const producer: EventProducer = {
    send: (topic: string, messages: OutgoingMessage[]) =>
      new Promise<void>((resolve, reject) => calls.push({ topic, keys: messages.map((m) => m.key), release: resolve, fail: reject })),
  };
  return { producer, calls };
}

const msg = (key: string): OutgoingMessage => ({ key, value: key });
const tick = () => new Promise((r) => setImmediate(r));

describe('CoalescingPublisher', () => {
  it('sends the first message at once and what arrives meanwhile in one request after it', async () => {
    const { producer, calls } = slowProducer();
    const pub = new CoalescingPublisher(() => producer);
    const done: string[] = [];
    const a = pub.publish('t1', msg('a')).then(() => done.push('a'));
    await tick();
    expect(calls.map((c) => c.keys)).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map((k) => pub.publish('t1', msg(k)).then(() => done.push(k)));
    await tick();
    expect(calls).toHaveLength(1); // waiting for the first acknowledgement
    calls[0]!.release();
    await a;
    await tick();
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['b', 'c', 'd']]);
    expect(done).toEqual(['a']);
    calls[1]!.release();
    await Promise.all(rest);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
  });

  it('one request per topic; a failed topic rejects only its own messages', async () => {
    const { producer, calls } = slowProducer();
    const pub = new CoalescingPublisher(() => producer);
    const first = pub.publish('t0', msg('x'));
    await tick();
    const p1 = pub.publish('t1', msg('a'));
    const p2 = pub.publish('t2', msg('b'));
    const p3 = pub.publish('t1', msg('c'));
    calls[0]!.release();
    await first;
    await tick();
    expect(calls.slice(1).map((c) => [c.topic, c.keys])).toEqual([
      ['t1', ['a', 'c']],
      ['t2', ['b']],
    ]);
    calls[1]!.fail(new Error('broker down'));
    calls[2]!.release();
    await expect(p1).rejects.toThrow('broker down');
    await expect(p3).rejects.toThrow('broker down');
    await expect(p2).resolves.toBeUndefined();
    // the publisher keeps working after a failure
    const again = pub.publish('t1', msg('d'));
    await tick();
    calls[3]!.release();
    await expect(again).resolves.toBeUndefined();
  });

  it('splits at maxBatch', async () => {
    const { producer, calls } = slowProducer();
    const pub = new CoalescingPublisher(() => producer, 2);
    const ps = ['a', 'b', 'c', 'd', 'e'].map((k) => pub.publish('t', msg(k)));
    await tick();
    calls[0]!.release();
    await tick();
    await tick();
    calls[1]!.release();
    await tick();
    await tick();
    calls[2]!.release();
    await Promise.all(ps);
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
  });
});
