import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { EnvelopeCipher } from '../../shared/secrets/envelope';
import { CREDENTIALS_ENCRYPTION_CONTEXT, KmsDataKeys } from '../../shared/secrets/kms-data-keys';

/** Envelope encryption over KMS data keys, KMS played by aws-sdk-client-mock. */
const kmsMock = mockClient(KMSClient);
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000';

/** A stand-in for KMS's wrapping: the "encrypted" data key is the plaintext reversed, behind a marker. */
function fakeKms(): void {
  kmsMock.on(GenerateDataKeyCommand).callsFake(() => {
    const plaintext = randomBytes(32);
    return { Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(Buffer.concat([Buffer.from('kms:'), Buffer.from(plaintext).reverse()])) };
  });
  kmsMock.on(DecryptCommand).callsFake((input: { CiphertextBlob: Uint8Array }) => ({
    Plaintext: new Uint8Array(Buffer.from(input.CiphertextBlob).subarray(4).reverse()),
  }));
}

beforeEach(() => {
  kmsMock.reset();
  fakeKms();
});

const cipherOver = (now = () => 0) => new EnvelopeCipher(new KmsDataKeys(new KMSClient({ region: 'eu-west-1' }), KEY_ARN), { dataKeyMaxAgeMs: 60_000, now });

describe('EnvelopeCipher over KMS data keys', () => {
  it('round-trips a secret and stores no plaintext', async () => {
    const cipher = cipherOver();
    const sealed = await cipher.seal('whsec_c2VjcmV0', 'webhook-credentials:1010:wh_1');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('c2VjcmV0');
    expect(await cipher.open(sealed, 'webhook-credentials:1010:wh_1')).toBe('whsec_c2VjcmV0');
  });

  it('asks KMS for a data key under the configured key and context, once per container while it is fresh', async () => {
    let now = 0;
    const cipher = cipherOver(() => now);
    await Promise.all(Array.from({ length: 20 }, (_, i) => cipher.seal(`secret-${i}`, `ctx-${i}`)));
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toEqual({
      KeyId: KEY_ARN,
      KeySpec: 'AES_256',
      EncryptionContext: CREDENTIALS_ENCRYPTION_CONTEXT,
    });
    now = 60_000;
    await cipher.seal('later', 'ctx');
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);
  });

  it('decrypts each data key once per container: a stream of deliveries does not call KMS each time', async () => {
    const sealed = await Promise.all(Array.from({ length: 10 }, (_, i) => cipherOver().seal(`secret-${i}`, `ctx-${i}`)));
    const delivery = cipherOver();
    for (let round = 0; round < 5; round++) {
      for (const [i, box] of sealed.entries()) expect(await delivery.open(box, `ctx-${i}`)).toBe(`secret-${i}`);
    }
    // Ten sealing containers, ten data keys: ten decryptions for fifty opens.
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(10);
    expect(kmsMock.commandCalls(DecryptCommand)[0]!.args[0].input).toMatchObject({ KeyId: KEY_ARN, EncryptionContext: CREDENTIALS_ENCRYPTION_CONTEXT });
  });

  it('refuses a secret opened for another context, tampered with, or not sealed at all', async () => {
    const cipher = cipherOver();
    const sealed = await cipher.seal('secret', 'webhook-credentials:1010:wh_1');
    await expect(cipher.open(sealed, 'webhook-credentials:1010:wh_2')).rejects.toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    await expect(cipher.open(parts.join('.'), 'webhook-credentials:1010:wh_1')).rejects.toThrow();
    await expect(cipher.open('whsec_plain', 'webhook-credentials:1010:wh_1')).rejects.toThrow('Not a sealed secret');
  });

  it('does not keep a failed KMS call: the next seal asks again', async () => {
    kmsMock.on(GenerateDataKeyCommand).rejectsOnce(new Error('throttled'));
    const cipher = cipherOver();
    await expect(cipher.seal('secret', 'ctx')).rejects.toThrow('throttled');
    fakeKms();
    await expect(cipher.seal('secret', 'ctx')).resolves.toMatch(/^v1\./);
  });
});
