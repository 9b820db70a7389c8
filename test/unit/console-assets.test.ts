import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConsoleAssets } from '../../shared/api/console-assets';
import { NotFoundError } from '../../shared/errors';

let dir: string;
let assets: ConsoleAssets;
const SCRIPT = 'console.log("the console");'.repeat(50);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-assets-'));
  await writeFile(join(dir, 'index.html'), '<meta name="console-settings" content="{{settings}}"><script src="console/app.js?v={{hash:app.js}}"></script>');
  await writeFile(join(dir, 'app.js'), SCRIPT);
  await writeFile(join(dir, 'app.css'), 'body{margin:0}');
  assets = await ConsoleAssets.load(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('console page', () => {
  it('carries its settings as an escaped attribute and names files by content hash', () => {
    const page = assets.page({ maxWebhooks: 5, oidc: { issuer: 'https://login.example.com/', clientId: '"><script>alert(1)</script>' } });
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).toContain('content="{&quot;maxWebhooks&quot;:5,');
    expect(page.body).toMatch(/app\.js\?v=[0-9a-f]{16}"/);
  });

  it('allows no inline script; only with OpenID Connect may it call other origins', () => {
    const local = assets.page({ maxWebhooks: 5 }).headers['content-security-policy']!;
    expect(local).toContain("script-src 'self';");
    expect(local).toContain("connect-src 'self';");
    expect(local).not.toContain('unsafe');
    const aws = assets.page({ maxWebhooks: 5, oidc: { issuer: 'https://login.example.com/realm', clientId: 'console' } }).headers['content-security-policy']!;
    expect(aws).toContain("connect-src 'self' https://login.example.com https:;");
    expect(aws).toContain("script-src 'self';");
  });
});

describe('console files', () => {
  it('are gzipped when the browser accepts it', () => {
    const gzipped = assets.file('app.js', 'gzip, deflate, br');
    expect(gzipped).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-encoding': 'gzip', 'content-type': 'text/javascript; charset=utf-8' } });
    expect(gunzipSync(Buffer.from(gzipped.body!, 'base64')).toString()).toBe(SCRIPT);
    const plain = assets.file('app.js', undefined);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Buffer.from(plain.body!, 'base64').toString()).toBe(SCRIPT);
  });

  it('serve nothing but the console’s own files', () => {
    for (const name of ['index.html', '../package.json', 'app.js.map', '']) expect(() => assets.file(name, undefined)).toThrow(NotFoundError);
  });
});
