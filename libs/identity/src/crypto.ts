/**
 * The China Mobile DM "EPN encryption" (epn-formats.md, Form A): AES-256-CBC,
 * key = SHA-256(password), IV = 16 zero bytes, PKCS#7 padding, carried as standard
 * Base64. The same scheme protects device-info values of objects 666/668/669.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/** Password a device uses when none is configured: 32 ASCII `0`. */
export const DEFAULT_DEVICE_PASSWORD = '0'.repeat(32);

const ZERO_IV = Buffer.alloc(16);
/** Standard Base64 alphabet, padding optional but well-formed when present. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
/** Largest ciphertext we try to decrypt (an EPN is at most 1024 characters). */
export const MAX_CIPHERTEXT_BYTES = 1024;

/** AES-256 key of a password: SHA-256 of its UTF-8 bytes. */
export function deriveKey(password: string): Buffer {
  return createHash('sha256').update(password, 'utf8').digest();
}

/**
 * Bounded LRU cache of derived keys, keyed by AppKey. An entry is reused only while
 * the AppKey's password is unchanged (a rotated password re-derives).
 */
export class DerivedKeyCache {
  private readonly entries = new Map<string, { password: string; key: Buffer }>();
  private hitCount = 0;
  private missCount = 0;

  constructor(readonly maxEntries = 10_000) {}

  /** The key for `password`, cached under `appKey`. */
  get(appKey: string, password: string): Buffer {
    const entry = this.entries.get(appKey);
    if (entry && entry.password === password) {
      this.hitCount++;
      // Refresh recency.
      this.entries.delete(appKey);
      this.entries.set(appKey, entry);
      return entry.key;
    }
    this.missCount++;
    const key = deriveKey(password);
    this.entries.delete(appKey);
    this.entries.set(appKey, { password, key });
    while (this.entries.size > Math.max(1, this.maxEntries)) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return key;
  }

  delete(appKey: string): void {
    this.entries.delete(appKey);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.hitCount, misses: this.missCount };
  }
}

/** Strict Base64 decode; `undefined` when the text is not standard Base64. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 === 1 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** Encrypt `plaintext` (UTF-8) with a derived key; returns standard padded Base64. */
export function encryptWithKey(plaintext: string, key: Buffer): string {
  const cipher = createCipheriv('aes-256-cbc', key, ZERO_IV);
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** Encrypt a value the DM way with a password. */
export function encryptDmValue(plaintext: string, password: string): string {
  return encryptWithKey(plaintext, deriveKey(password));
}

export type DecryptResult =
  | { ok: true; plaintext: string }
  | { ok: false; reason: 'BAD_BASE64' | 'BAD_LENGTH' | 'BAD_PADDING' | 'NOT_TEXT' };

const PRINTABLE = /^[!-~]*$/;

/**
 * Decrypt a Base64 DM ciphertext with a derived key. Succeeds only when the padding is
 * valid and, with `textCheck = 'epn'` (default), the plaintext is printable ASCII
 * without whitespace (a wrong key passes the padding check about once in 256 tries;
 * the text check catches nearly all of those). `'utf8'` returns any UTF-8 text.
 * Never throws.
 */
export function decryptWithKey(base64: string, key: Buffer, textCheck: 'epn' | 'utf8' = 'epn'): DecryptResult {
  const data = decodeBase64Strict(base64);
  if (!data) return { ok: false, reason: 'BAD_BASE64' };
  if (data.length === 0 || data.length % 16 !== 0 || data.length > MAX_CIPHERTEXT_BYTES) {
    return { ok: false, reason: 'BAD_LENGTH' };
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, ZERO_IV);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    return { ok: false, reason: 'BAD_PADDING' };
  }
  if (textCheck === 'utf8') return { ok: true, plaintext: plain.toString('utf8') };
  const text = plain.toString('latin1');
  if (!PRINTABLE.test(text)) return { ok: false, reason: 'NOT_TEXT' };
  return { ok: true, plaintext: text };
}

/** Decrypt a DM value (e.g. an object 666 resource) with a password; any UTF-8 text. */
export function decryptDmValue(base64: string, password: string): DecryptResult {
  return decryptWithKey(base64, deriveKey(password), 'utf8');
}
