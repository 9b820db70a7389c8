import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PrerequisiteError } from '../../../infra/local/dynamodb-local';

/**
 * Headless Chromium on a fresh profile, with everything that would reach beyond loopback switched
 * off. The browser is the one at CHROMIUM_PATH when set, otherwise always the Linux x64 Chromium
 * that the `@sparticuz/chromium` package ships inside it, with the few shared libraries it brings
 * (NSS, NSPR, expat) — never a system one, so every machine and CI drive the same pinned browser
 * and nothing is downloaded.
 */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** The package's root: its `exports` hide package.json and the compressed browser in bin/. */
const PACKAGE_DIR = join(dirname(require.resolve('@sparticuz/chromium')), '..', '..');

interface Chromium {
  readonly executablePath: string;
  readonly env?: Record<string, string>;
}

async function packagedChromiumDir(): Promise<string> {
  const { version } = JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string };
  return join(tmpdir(), `webhooks-test-chromium-${version}`);
}

async function browser(): Promise<Chromium> {
  if (process.env.CHROMIUM_PATH) return { executablePath: process.env.CHROMIUM_PATH };
  const dir = await packagedChromiumDir();
  const libraries = [join(dir, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { executablePath: join(dir, 'chromium'), env: { ...(process.env as Record<string, string>), LD_LIBRARY_PATH: libraries } };
}

/** Unpacks the package's browser and its libraries into `dir`, whole or not at all. */
async function unpack(dir: string): Promise<void> {
  const partial = `${dir}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const bin = join(PACKAGE_DIR, 'bin');
  const untar = spawn('tar', ['-x', '-C', partial], { stdio: ['pipe', 'ignore', 'inherit'] });
  const untarred = new Promise<void>((resolve, reject) => {
    untar.on('error', reject);
    untar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
  });
  await Promise.all([
    pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(partial, 'chromium'), { mode: 0o755 })),
    pipeline(createReadStream(join(bin, 'al2023.tar.br')), createBrotliDecompress(), untar.stdin),
    untarred,
  ]);
  // Renamed into place when whole, so an interrupted unpack is never taken for the browser.
  await rename(partial, dir).catch(async (error: NodeJS.ErrnoException) => {
    // Another run unpacked the same version meanwhile: use theirs.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  });
}

/**
 * For jest's global setup, before any test worker starts: unpacks the packaged Chromium (~2 s, once
 * per version) and checks that the browser starts, or refuses with a PrerequisiteError. The
 * package's own executablePath() is not used: it unpacks under fixed names in the shared temp
 * folder, where a second process launches the first one's half-written file (ETXTBSY) and another
 * version left there is used instead of the pinned one; and off Lambda it leaves out the libraries.
 */
export async function prepareChromium(): Promise<void> {
  if (!process.env.CHROMIUM_PATH) {
    if (platform() !== 'linux' || arch() !== 'x64') {
      throw new PrerequisiteError(`The console tests' packaged Chromium is a Linux x64 build: on ${platform()} ${arch()}, set CHROMIUM_PATH to a Chromium or Chrome.`);
    }
    const dir = await packagedChromiumDir();
    if (!existsSync(dir)) await unpack(dir);
  }
  const { executablePath, env } = await browser();
  try {
    await promisify(execFile)(executablePath, ['--headless', '--no-sandbox', '--version'], { env });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    const reason = (failure.stderr || failure.message).trim().split('\n')[0];
    const fix = process.env.CHROMIUM_PATH ? 'Set CHROMIUM_PATH to a Chromium or Chrome, or unset it for the packaged one.' : 'Set CHROMIUM_PATH to a Chromium or Chrome that runs here.';
    throw new PrerequisiteError(`The console tests' Chromium (${executablePath}) does not start: ${reason}. ${fix}`);
  }
}

/** Screenshots of each screen, for people to look at; git-ignored. */
export const SCREENSHOT_DIR = join(__dirname, '..', '..', '..', 'test-output', 'console');

export interface TestBrowser {
  readonly context: BrowserContext;
  /** Page errors and console errors (a CSP violation is one), for tests to assert there are none. */
  readonly errors: string[];
  newPage(): Promise<Page>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'console-browser-'));
  const context = await chromium.launchPersistentContext(profile, {
    ...(await browser()),
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const errors: string[] = [];
  return {
    context,
    errors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of (40\d|409)/.test(message.text())) errors.push(`console: ${message.text()}`);
      });
      return page;
    },
    async screenshot(page, name) {
      await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
