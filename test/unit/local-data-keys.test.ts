import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDataKeys } from '../../infra/local/data-keys';
import { EnvelopeCipher } from '../../shared/secrets/envelope';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lms-webhooks-keys-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

describe('the local runtime key under DATA_DIR', () => {
  it('is created once, owner-only, and opens what an earlier start sealed', async () => {
    const sealed = await new EnvelopeCipher(await LocalDataKeys.open(dataDir)).seal('whsec_abc', 'ctx');
    const path = join(dataDir, 'credentials.key');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const key = await readFile(path, 'utf8');
    expect(await new EnvelopeCipher(await LocalDataKeys.open(dataDir)).open(sealed, 'ctx')).toBe('whsec_abc');
    expect(await readFile(path, 'utf8')).toBe(key);
  });

  it('is the same key for processes starting at once', async () => {
    const keepers = await Promise.all(Array.from({ length: 8 }, () => LocalDataKeys.open(dataDir)));
    const sealed = await new EnvelopeCipher(keepers[0]!).seal('secret', 'ctx');
    for (const keeper of keepers) expect(await new EnvelopeCipher(keeper).open(sealed, 'ctx')).toBe('secret');
  });

  it('refuses a short key file rather than sealing under a weak key', async () => {
    await writeFile(join(dataDir, 'credentials.key'), Buffer.alloc(8).toString('base64url'));
    await expect(LocalDataKeys.open(dataDir)).rejects.toThrow(/8 bytes, not a 32-byte key/);
  });
});
