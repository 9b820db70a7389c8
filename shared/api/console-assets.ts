import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { NotFoundError } from '../errors';
import type { ApiResponse } from './request';

/**
 * The admin console's static files (built by console/build.ts) as API answers: the page carries the
 * console's settings in a meta tag and a strict Content-Security-Policy; scripts and styles are
 * served gzipped when the browser accepts it, cached for good under a content-hash query.
 */
export const CONSOLE_FILES = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;
export type ConsoleFile = keyof typeof CONSOLE_FILES;
export const CONSOLE_PAGE = 'index.html';

/** What the page needs to know before its first API call. */
export interface ConsoleSettings {
  /** Webhooks an account may hold, so the page can say when the limit is reached. */
  readonly maxWebhooks: number;
  /** OpenID Connect sign-in (authorization code + PKCE); without it the admin pastes a token. */
  readonly oidc?: { readonly issuer: string; readonly clientId: string };
}

interface StaticFile {
  readonly contentType: string;
  readonly plain: Buffer;
  readonly gzipped: Buffer;
  readonly hash: string;
}

export class ConsoleAssets {
  private constructor(
    private readonly template: string,
    private readonly files: ReadonlyMap<string, StaticFile>,
  ) {}

  static async load(dir: string): Promise<ConsoleAssets> {
    const template = await readFile(join(dir, CONSOLE_PAGE), 'utf8');
    const files = new Map<string, StaticFile>();
    for (const [name, contentType] of Object.entries(CONSOLE_FILES)) {
      const plain = await readFile(join(dir, name));
      files.set(name, { contentType, plain, gzipped: gzipSync(plain, { level: 9 }), hash: createHash('sha256').update(plain).digest('hex').slice(0, 16) });
    }
    return new ConsoleAssets(template, files);
  }

  page(settings: ConsoleSettings): ApiResponse {
    const body = this.template
      .replace('{{settings}}', escapeAttribute(JSON.stringify(settings)))
      .replace(/\{\{hash:([\w.]+)\}\}/g, (_, name: string) => this.files.get(name)?.hash ?? '');
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...SECURITY_HEADERS, 'content-security-policy': contentSecurityPolicy(settings) },
      body,
    };
  }

  file(name: string, acceptEncoding: string | undefined): ApiResponse {
    const file = this.files.get(name);
    if (!file) throw new NotFoundError(`The console has no file ${name}.`);
    const gzip = /\bgzip\b/.test(acceptEncoding ?? '');
    return {
      statusCode: 200,
      headers: {
        'content-type': file.contentType,
        // Pages name files with their content hash, so a cached copy is never stale.
        'cache-control': 'public, max-age=31536000, immutable',
        vary: 'accept-encoding',
        ...SECURITY_HEADERS,
        ...(gzip && { 'content-encoding': 'gzip' }),
      },
      body: (gzip ? file.gzipped : file.plain).toString('base64'),
      isBase64Encoded: true,
    };
  }

  /** Bytes a browser downloads for the console, gzipped. */
  get gzippedBytes(): number {
    return [...this.files.values()].reduce((sum, f) => sum + f.gzipped.length, 0);
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/**
 * Scripts and styles only from this origin, nothing inline. With OpenID Connect the page also calls
 * the issuer, and the token endpoint its discovery document names may sit on another host (Cognito
 * does this), so https origins may be fetched too; scripts stay same-origin either way.
 */
function contentSecurityPolicy(settings: ConsoleSettings): string {
  const identityProvider = settings.oidc ? ` ${new URL(settings.oidc.issuer).origin} https:` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${identityProvider}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
