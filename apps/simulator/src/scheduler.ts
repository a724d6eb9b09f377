/**
 * One bucketed timer wheel for every UE timer of a process (no setTimeout, closure or
 * Promise per UE). A timer is identified by an integer id (the engine uses
 * `ue * TIMER_KINDS + kind`); its due time lives in one Float64Array (0 = not armed).
 *
 * Arming pushes the id into the bucket of its due tick; re-arming or cancelling only
 * changes `due[id]`, and the stale bucket entry is skipped when its bucket is swept (an
 * entry fires only if `due[id]` is armed and has passed). Buckets are plain arrays of small
 * integers (4–8 bytes an entry); a timer further away than the wheel's span waits in the
 * bucket it wraps to and is re-pushed until its time comes.
 */
export interface Clock {
  now(): number;
}

export const realClock: Clock = { now: () => performance.timeOrigin + performance.now() };

export interface TimerWheelOptions {
  /** Number of timer ids (ues × kinds). */
  capacity: number;
  /** Resolution in ms (default 10). */
  tickMs?: number;
  /** Number of buckets (default 4096: 41 s span at 10 ms; later timers wrap). */
  buckets?: number;
}

export class TimerWheel {
  readonly tickMs: number;
  private readonly due: Float64Array;
  private readonly wheel: number[][];
  private readonly mask: number;
  /** Absolute tick number swept last. */
  private cursor = 0;
  private started = false;
  private armed = 0;
  private spare: number[] = [];

  constructor(opts: TimerWheelOptions) {
    this.tickMs = opts.tickMs ?? 10;
    const n = opts.buckets ?? 4096;
    if ((n & (n - 1)) !== 0) throw new RangeError('buckets must be a power of two');
    this.mask = n - 1;
    this.due = new Float64Array(opts.capacity);
    this.wheel = Array.from({ length: n }, () => []);
  }

  /** Timers currently armed. */
  get size(): number {
    return this.armed;
  }

  dueAt(id: number): number {
    return this.due[id]!;
  }

  isArmed(id: number): boolean {
    return this.due[id]! !== 0;
  }

  /** Arms (or re-arms) timer `id` for absolute time `at` (ms). */
  set(id: number, at: number): void {
    if (this.due[id] === 0) this.armed++;
    const t = Math.max(at, 1);
    this.due[id] = t;
    let tick = Math.floor(t / this.tickMs);
    // Never into a bucket already swept this round: it would wait a whole turn.
    if (this.started && tick <= this.cursor) tick = this.cursor + 1;
    this.wheel[tick & this.mask]!.push(id);
  }

  cancel(id: number): void {
    if (this.due[id] !== 0) {
      this.due[id] = 0;
      this.armed--;
    }
  }

  /**
   * Fires every timer whose tick has fully passed (so a timer never fires early; it fires
   * at most one tick late), in bucket order. `fire` may re-arm timers (also the one
   * firing). Returns the number fired.
   */
  advance(now: number, fire: (id: number) => void): number {
    const target = Math.floor(now / this.tickMs) - 1;
    if (!this.started) {
      // First sweep: start at the earliest armed timer's tick at most one turn back.
      this.started = true;
      this.cursor = target - this.mask - 1;
    }
    let fired = 0;
    // Sweep at most one full turn: beyond that every bucket has been visited once.
    const from = Math.max(this.cursor + 1, target - this.mask);
    for (let tick = from; tick <= target; tick++) {
      this.cursor = tick;
      const slot = tick & this.mask;
      const ids = this.wheel[slot]!;
      if (ids.length === 0) continue;
      this.wheel[slot] = this.spare;
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k]!;
        const d = this.due[id]!;
        if (d === 0) continue;
        const dueTick = Math.floor(d / this.tickMs);
        if (dueTick <= tick) {
          this.due[id] = 0;
          this.armed--;
          fired++;
          fire(id);
        } else if ((dueTick & this.mask) === slot) {
          // Wrapped from a later turn of this bucket (a stale entry for a re-armed timer
          // lives in another bucket and is dropped here).
          this.wheel[slot]!.push(id);
        }
      }
      ids.length = 0;
      this.spare = ids;
    }
    if (target > this.cursor) this.cursor = target;
    return fired;
  }
}
