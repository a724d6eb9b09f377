import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Thrown when a ciphertext cannot be decrypted: unknown key id, wrong key, or tampered data. */
export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptError';
  }
}

export interface Sealed {
  /** Id of the key that encrypted `blob` (stored next to it, in the row). */
  keyId: string;
  /** iv (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes). */
  blob: Buffer;
}

const IV = 12;
const TAG = 16;

/**
 * Column encryption for data at rest (R-SEC-6): AES-256-GCM with a random 96-bit IV per
 * encryption, authenticated additional data naming what the value is (so a ciphertext
 * cannot be moved to another column or path unnoticed), and the key id stored with
 * the row. New rows use the active key; old rows stay readable as long as their key id
 * is configured (rotation without rewriting). `hash()` is an HMAC-SHA-256 with a
 * separate key, for equality lookups (blind index) of encrypted identities.
 */
export class FieldCipher {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: ReadonlyMap<string, Buffer> | Record<string, Buffer>,
    readonly activeKeyId: string,
    private readonly hashKey: Buffer,
  ) {
    this.keys = keys instanceof Map ? new Map(keys) : new Map(Object.entries(keys));
    for (const [id, k] of this.keys) {
      if (k.length !== 32) throw new Error(`key ${id} must be 32 bytes (AES-256), got ${k.length}`);
    }
    if (!this.keys.has(activeKeyId)) throw new Error(`active key ${activeKeyId} is not among the configured keys`);
    if (hashKey.length < 32) throw new Error('the hash key must be at least 32 bytes');
    for (const k of this.keys.values()) if (k.equals(hashKey)) throw new Error('the hash key must differ from the encryption keys');
  }

  encrypt(plain: Buffer | string, aad: string): Sealed {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(IV);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(aad));
    const body = c.update(typeof plain === 'string' ? Buffer.from(plain) : plain);
    const fin = c.final();
    return { keyId: this.activeKeyId, blob: Buffer.concat([iv, body, fin, c.getAuthTag()]) };
  }

  decrypt(keyId: string, blob: Buffer, aad: string): Buffer {
    const key = this.keys.get(keyId);
    if (!key) throw new DecryptError(`unknown key id ${keyId}`);
    if (blob.length < IV + TAG) throw new DecryptError('ciphertext too short');
    const d = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(blob.subarray(blob.length - TAG));
    try {
      return Buffer.concat([d.update(blob.subarray(IV, blob.length - TAG)), d.final()]);
    } catch {
      throw new DecryptError(`authentication failed (wrong key ${keyId}, or the data was altered)`);
    }
  }

  /** HMAC-SHA-256 of `data` under the hash key; `domain` separates uses (epi, value, ...). */
  hash(domain: string, data: string): Buffer {
    return createHmac('sha256', this.hashKey).update(domain).update('\0').update(data).digest();
  }
}

/** Parses STORAGE_KEYS (`{"k1":"<base64 of 32 bytes>", ...}`) into a key map; throws naming the bad entry. */
export function parseKeys(json: string): Map<string, Buffer> {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch {
    throw new Error('must be a JSON object {"<key id>": "<base64 of 32 bytes>"}');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('must be a JSON object {"<key id>": "<base64 of 32 bytes>"}');
  const out = new Map<string, Buffer>();
  for (const [id, v] of Object.entries(obj)) {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(id)) throw new Error(`key id "${id}" must be 1-32 letters, digits, dot, dash or underscore`);
    if (typeof v !== 'string') throw new Error(`key ${id} must be a base64 string`);
    const b = Buffer.from(v, 'base64');
    if (b.length !== 32) throw new Error(`key ${id} must be 32 bytes once base64-decoded (got ${b.length})`);
    out.set(id, b);
  }
  if (out.size === 0) throw new Error('must hold at least one key');
  return out;
}
