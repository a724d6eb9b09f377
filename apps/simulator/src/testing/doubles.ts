import { serializeSenmlCbor } from '@dmp/lwm2m';
/** Small test doubles for the engine specs (the real model lives in src/device/). */
import type { DeviceModel, DeviceRequest, DeviceResponse, IdentityFactory, UeIdentity } from '../device/types';
import type { Clock } from '../scheduler';
import type { Transport } from '../socket-pool';

export const fakeIdentity: IdentityFactory = (index: number): UeIdentity => {
  const imei = `8600000${String(index).padStart(8, '0')}`;
  return { index, form: 'URN_IMEI', epn: `urn:imei:${imei}`, imei, imsi: `46000${String(index).padStart(10, '0')}`, expectedEpi: imei };
};

/** Answers GET /3/0/13 with the current time as text, everything else 4.04. */
export class FakeModel implements DeviceModel {
  readonly requests: { index: number; req: DeviceRequest }[] = [];
  registerLinks(): string {
    return '</1/0>,</3/0>,</4/0>';
  }
  handle(index: number, req: DeviceRequest, now: number): DeviceResponse {
    this.requests.push({ index, req });
    if (req.method === 1 && req.path === '/3/0/13') {
      const r: DeviceResponse = { code: 0x45, contentFormat: 0, payload: Buffer.from(String(Math.floor(now / 1000))) };
      if (req.observe === 0) r.observe = 'start';
      if (req.observe === 1) r.observe = 'cancel';
      return r;
    }
    return { code: 0x84 };
  }
  observeValue(_index: number, path: string, contentFormat: number, now: number) {
    if (path !== '/3/0/13') return undefined;
    const secs = Math.floor(now / 1000);
    // SenML CBOR for LwM2M Send, text otherwise
    if (contentFormat === 112) return { contentFormat, payload: serializeSenmlCbor([{ n: path, v: secs }]) };
    return { contentFormat, payload: Buffer.from(String(secs)) };
  }
  attributes() {
    return {};
  }
  changeIntervalMs(_index: number, path: string): number {
    return path === '/3/0/13' ? 1000 : Infinity;
  }
  reset(): void {
    this.requests.length = 0;
  }
  statefulUes(): number {
    return 0;
  }
}

export class FakeClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
}

/** Records what the engine sends; `size` slots. */
export class FakeTransport implements Transport {
  readonly sent: { slot: number; bytes: Buffer; at: number; port: number; host: string }[] = [];
  constructor(
    readonly size: number,
    private readonly clock: Clock,
  ) {}
  send(slot: number, bytes: Uint8Array, port: number, host: string): void {
    this.sent.push({ slot, bytes: Buffer.from(bytes), at: this.clock.now(), port, host });
  }
  address(slot: number) {
    return { address: `127.10.0.${slot + 1}`, port: 40000 + slot };
  }
  async close(): Promise<void> {
    this.sent.length = 0;
  }
}
