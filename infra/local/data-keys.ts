import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataKeys } from '../../shared/secrets/envelope';
import { createKeyFile, readKeyFile } from './key-file';

/**
 * The local runtime's key keeper in place of KMS: a 256-bit key in DATA_DIR wraps the data keys
 * (AES-256-GCM). Losing the file loses the stored webhook secrets, as deleting a KMS key would.
 */
const KEY_FILE = 'credentials.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class LocalDataKeys implements DataKeys {
  private constructor(private readonly key: Buffer) {}

  static async open(dataDir: string): Promise<LocalDataKeys> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, KEY_FILE);
    const key = (await readKeyFile(path)) ?? (await createKeyFile(path, KEY_BYTES));
    if (key.length !== KEY_BYTES) {
      throw new Error(
        `${path} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key. The stored webhook secrets need the original ` +
          'file: restore it, or start with an empty DATA_DIR.',
      );
    }
    return new LocalDataKeys(key);
  }

  async generate(): Promise<{ plaintext: Buffer; encrypted: Buffer }> {
    const plaintext = randomBytes(KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const wrapped = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, encrypted: Buffer.concat([iv, wrapped, cipher.getAuthTag()]) };
  }

  async decrypt(encrypted: Buffer): Promise<Buffer> {
    const iv = encrypted.subarray(0, IV_BYTES);
    const tag = encrypted.subarray(encrypted.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES }).setAuthTag(tag);
    return Buffer.concat([decipher.update(encrypted.subarray(IV_BYTES, encrypted.length - TAG_BYTES)), decipher.final()]);
  }
}

