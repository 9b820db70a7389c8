import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DataKeys } from './envelope';

/**
 * Data keys from a customer-managed KMS key. The encryption context names what the keys protect:
 * KMS binds it to each data key, and CloudTrail logs it with every use.
 */
export const CREDENTIALS_ENCRYPTION_CONTEXT = { service: 'lms-webhooks', purpose: 'webhook-credentials' } as const;

export class KmsDataKeys implements DataKeys {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  async generate(): Promise<{ plaintext: Buffer; encrypted: Buffer }> {
    const result = await this.client.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...CREDENTIALS_ENCRYPTION_CONTEXT } }),
    );
    if (!result.Plaintext || !result.CiphertextBlob) throw new Error('KMS returned no data key.');
    return { plaintext: Buffer.from(result.Plaintext), encrypted: Buffer.from(result.CiphertextBlob) };
  }

  async decrypt(encrypted: Buffer): Promise<Buffer> {
    const result = await this.client.send(
      new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: encrypted, EncryptionContext: { ...CREDENTIALS_ENCRYPTION_CONTEXT } }),
    );
    if (!result.Plaintext) throw new Error('KMS returned no plaintext for the data key.');
    return Buffer.from(result.Plaintext);
  }
}
