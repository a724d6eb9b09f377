import { BackpressureError, BatchingProducer } from './batching-producer';
import type { EventProducer, OutgoingMessage } from './types';

function recorder(failTimes = 0) {
  const sent: Array<{ topic: string; msgs: OutgoingMessage[] }> = [];
  let failures = failTimes;
  const producer: EventProducer = {
    send: async (topic, msgs) => {
      if (failures > 0) {
        failures--;
        throw new Error('broker down');
      }
      sent.push({ topic, msgs });
    },
  };
  return { producer, sent };
}

describe('BatchingProducer', () => {
  afterEach(() => jest.useRealTimers());

  it('sends a full batch at once and the rest after the linger time', async () => {
    jest.useFakeTimers();
    const { producer, sent } = recorder();
    const p = new BatchingProducer(producer, { maxBatch: 3, lingerMs: 50 });
    const all = [1, 2, 3, 4].map((i) => p.publish('t', { key: `k${i}`, value: `v${i}` }));
    await Promise.resolve();
    expect(sent.map((s) => s.msgs.length)).toEqual([3]);
    await jest.advanceTimersByTimeAsync(50);
    await Promise.all(all);
    expect(sent.map((s) => s.msgs.length)).toEqual([3, 1]);
    expect(p.outstanding).toBe(0);
  });

  it('groups by topic within one batch', async () => {
    const { producer, sent } = recorder();
    const p = new BatchingProducer(producer, { maxBatch: 10, lingerMs: 1 });
    await Promise.all([p.publish('a', { key: null, value: '1' }), p.publish('b', { key: null, value: '2' }), p.publish('a', { key: null, value: '3' })]);
    expect(sent.map((s) => [s.topic, s.msgs.map((m) => m.value)])).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
  });

  it('refuses beyond maxQueued with BackpressureError', async () => {
    const { producer } = recorder();
    const p = new BatchingProducer(producer, { maxBatch: 100, lingerMs: 10, maxQueued: 2 });
    const a = p.publish('t', { key: null, value: '1' });
    const b = p.publish('t', { key: null, value: '2' });
    await expect(p.publish('t', { key: null, value: '3' })).rejects.toBeInstanceOf(BackpressureError);
    await Promise.all([a, b]);
    await expect(p.publish('t', { key: null, value: '4' })).resolves.toBeUndefined();
  });

  it('rejects a failed batch by default', async () => {
    const { producer } = recorder(1);
    const p = new BatchingProducer(producer, { lingerMs: 1 });
    await expect(p.publish('t', { key: null, value: '1' })).rejects.toThrow('broker down');
  });

  it('with retryForever keeps failed messages, in order, until the broker is back', async () => {
    jest.useFakeTimers();
    const { producer, sent } = recorder(3);
    const errors: number[] = [];
    const p = new BatchingProducer(producer, { lingerMs: 1, retryForever: true, maxQueued: 3, onSendError: (_e, n) => errors.push(n) });
    const done = [p.publish('t', { key: null, value: '1' }), p.publish('t', { key: null, value: '2' })];
    await jest.advanceTimersByTimeAsync(1);
    expect(p.outstanding).toBe(2);
    const third = p.publish('t', { key: null, value: '3' });
    await expect(p.publish('t', { key: null, value: '4' })).rejects.toBeInstanceOf(BackpressureError);
    await jest.advanceTimersByTimeAsync(10_000);
    await Promise.all([...done, third]);
    expect(errors.length).toBe(3);
    expect(sent.flatMap((s) => s.msgs.map((m) => m.value))).toEqual(['1', '2', '3']);
    expect(p.outstanding).toBe(0);
  });
});
