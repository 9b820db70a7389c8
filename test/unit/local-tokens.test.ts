import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTokens } from '../../infra/local/auth';

describe('the local JWT signing key', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-tokens-'));
  });

  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('is made once, whole, and shared by every process opening the same DATA_DIR at once', async () => {
    const opened = await Promise.all(Array.from({ length: 8 }, () => LocalTokens.open(dataDir, 'accountId')));
    const token = await opened[0]!.issue(1010);
    for (const tokens of opened) expect(await tokens.verify(`Bearer ${token}`)).toMatchObject({ accountId: '1010' });
    expect(Buffer.from(await readFile(join(dataDir, 'jwt-signing.key'), 'utf8'), 'base64url')).toHaveLength(32);
    expect(await readdir(dataDir)).toEqual(['jwt-signing.key']);
  });

  it.each([
    ['empty', '', /is empty; it needs at least 32/],
    ['short', Buffer.alloc(16, 7).toString('base64url'), /is only 16 bytes long; it needs at least 32 .*Delete the file/],
  ])('is refused when the file is %s, never used', async (_, content, message) => {
    await writeFile(join(dataDir, 'jwt-signing.key'), content);
    await expect(LocalTokens.open(dataDir, 'accountId')).rejects.toThrow(message);
    expect(await readFile(join(dataDir, 'jwt-signing.key'), 'utf8')).toBe(content);
  });
});
