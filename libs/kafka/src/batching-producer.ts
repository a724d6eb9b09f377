import type { EventProducer, OutgoingMessage } from './types';

export class BackpressureError extends Error {
  constructor(readonly queued: number) {
    super(`producer queue full (${queued} messages waiting)`);
    this.name = 'BackpressureError';
  }
}

export interface BatchingOptions {
  /** Flush when this many messages are waiting (default 500). */
  maxBatch: number;
  /** Flush at the latest this long after the first waiting message (default 5 ms). */
  lingerMs: number;
  /** Refuse new messages beyond this many unacknowledged ones (default 50,000). */
  maxQueued: number;
  /**
   * Keep retrying a failed batch (with capped exponential backoff) instead of rejecting
   * its promises: for events already promised to a device (the registration is stored),
   * where losing them is worse than waiting. Outstanding messages still count against
   * `maxQueued`, so a long broker outage ends in BackpressureError for new ones.
   */
  retryForever: boolean;
  /** Called on each failed send (for logs and metrics). */
  onSendError?: (error: unknown, messages: number) => void;
}

interface Pending {
  topic: string;
  message: OutgoingMessage;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Collects single messages from hot paths (a gateway's per-datagram path) into
 * batches sent with one request, and bounds memory: past `maxQueued` unacknowledged
 * messages `publish` rejects at once with BackpressureError so the caller can shed
 * load (CoAP 5.03 + Max-Age) instead of growing without limit.
 */
export class BatchingProducer {
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: BatchingOptions;

  constructor(
    private readonly target: EventProducer,
    opts: Partial<BatchingOptions> = {},
  ) {
    this.opts = { maxBatch: 500, lingerMs: 5, maxQueued: 50_000, retryForever: false, ...opts };
  }

  /** Messages accepted and not yet acknowledged. */
  get outstanding(): number {
    return this.queue.length + this.inFlight;
  }

  publish(topic: string, message: OutgoingMessage): Promise<void> {
    if (this.outstanding >= this.opts.maxQueued) return Promise.reject(new BackpressureError(this.outstanding));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.opts.lingerMs);
    });
  }

  /** Sends everything waiting and resolves when all of it is acknowledged (or failed). */
  async flush(): Promise<void> {
    const sends: Promise<void>[] = [];
    while (this.queue.length && !this.retrying) sends.push(this.flushNow());
    await Promise.allSettled(sends);
  }

  private failures = 0;

  private flushNow(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.retrying) return Promise.resolve();
    const batch = this.queue.splice(0, this.opts.maxBatch);
    if (this.queue.length) this.timer = setTimeout(() => this.flushNow(), 0);
    if (!batch.length) return Promise.resolve();
    this.inFlight += batch.length;
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const p of batch) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p.message);
    }
    return Promise.all([...byTopic].map(([topic, msgs]) => this.target.send(topic, msgs))).then(
      () => {
        this.inFlight -= batch.length;
        for (const p of batch) p.resolve();
      },
      (e: unknown) => {
        this.inFlight -= batch.length;
        this.opts.onSendError?.(e, batch.length);
        if (!this.opts.retryForever) {
          for (const p of batch) p.reject(e);
          return;
        }
        // put the batch back in front, in order, and try again later
        this.queue.unshift(...batch);
        this.failures++;
        const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        this.retrying = setTimeout(() => {
          this.retrying = undefined;
          this.flushNow();
        }, delay);
      },
    ).then(() => {
      if (!this.retrying) this.failures = 0;
    });
  }

  private retrying: NodeJS.Timeout | undefined;

  /** Stops retry timers (pending promises stay unresolved); for shutdown after a final flush attempt. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.retrying) clearTimeout(this.retrying);
    this.timer = undefined;
    this.retrying = undefined;
  }
}
