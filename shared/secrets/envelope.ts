import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Envelope encryption of small secrets: each secret is encrypted with AES-256-GCM under a data key,
 * and the data key travels with it, itself encrypted by a key that never leaves its keeper (KMS in
 * AWS, a key file on the local runtime). Only `DataKeys` differs between the two.
 */
export interface DataKeys {
  /** A fresh 32-byte data key, in plaintext and encrypted under the key keeper's key. */
  generate(): Promise<{ plaintext: Buffer; encrypted: Buffer }>;
  /** The plaintext of a data key that `generate` returned encrypted. */
  decrypt(encrypted: Buffer): Promise<Buffer>;
}

export interface EnvelopeOptions {
  /** How long one data key seals new secrets before the next is generated. @default 1 hour */
  readonly dataKeyMaxAgeMs?: number;
  /** Decrypted data keys kept; a container sees one per sealing container and hour. @default 1000 */
  readonly maxCachedKeys?: number;
  readonly now?: () => number;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals and opens secrets, bound to `context` (authenticated, not stored: a sealed value copied to
 * another record does not open there). Data keys are cached per container, both the one sealing and
 * those opened, so a warm function does not call the key keeper for every secret.
 */
export class EnvelopeCipher {
  private sealing?: { at: number; key: Promise<{ plaintext: Buffer; encrypted: Buffer }> };
  private readonly opened = new Map<string, Promise<Buffer>>();
  private readonly now: () => number;

  constructor(
    private readonly dataKeys: DataKeys,
    private readonly options: EnvelopeOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** `v1.<encrypted data key>.<iv>.<ciphertext>.<tag>`, base64url parts. */
  async seal(plaintext: string, context: string): Promise<string> {
    const { plaintext: key, encrypted } = await this.sealingKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, encrypted, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  async open(sealed: string, context: string): Promise<string> {
    const [version, encryptedKey, iv, ciphertext, tag, ...rest] = sealed.split('.');
    if (version !== VERSION || !encryptedKey || !iv || ciphertext === undefined || !tag || rest.length > 0) {
      throw new Error('Not a sealed secret of this service.');
    }
    const key = await this.openedKey(encryptedKey);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES })
      .setAAD(Buffer.from(context))
      .setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  private sealingKey(): Promise<{ plaintext: Buffer; encrypted: Buffer }> {
    const maxAge = this.options.dataKeyMaxAgeMs ?? 3600_000;
    if (!this.sealing || this.now() - this.sealing.at >= maxAge) {
      const key = this.dataKeys.generate();
      this.sealing = { at: this.now(), key };
      key.catch(() => (this.sealing = undefined));
    }
    return this.sealing.key;
  }

  private openedKey(encryptedKey: string): Promise<Buffer> {
    const cached = this.opened.get(encryptedKey);
    if (cached) return cached;
    // Cache the promise, so concurrent opens under one data key share one decryption.
    const key = this.dataKeys.decrypt(Buffer.from(encryptedKey, 'base64url'));
    if (this.opened.size >= (this.options.maxCachedKeys ?? 1000)) this.opened.clear();
    this.opened.set(encryptedKey, key);
    key.catch(() => this.opened.delete(encryptedKey));
    return key;
  }
}
