import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { ALL_SCOPES, type Scope } from '../../shared/api/routes';
import { createKeyFile, readKeyFile } from './key-file';

/**
 * The local runtime's stand-in for API Gateway's JWT authorizer: HS256 tokens signed with a key
 * kept in DATA_DIR, so `npm run token` and a running runtime on the same DATA_DIR agree.
 */
export const LOCAL_ISSUER = 'lms-webhooks-local';
export const LOCAL_AUDIENCE = 'lms-webhooks';
const KEY_FILE = 'jwt-signing.key';
/** HS256 wants a key at least as long as its hash. */
const MIN_KEY_BYTES = 32;

export class LocalTokens {
  private constructor(
    private readonly key: Uint8Array,
    private readonly accountClaim: string,
  ) {}

  static async open(dataDir: string, accountClaim: string): Promise<LocalTokens> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, KEY_FILE);
    const key = (await readKeyFile(path)) ?? (await createKeyFile(path, MIN_KEY_BYTES));
    if (key.length < MIN_KEY_BYTES) {
      throw new Error(
        `The local JWT signing key ${path} is ${key.length === 0 ? 'empty' : `only ${key.length} bytes long`}; it needs at least ${MIN_KEY_BYTES} ` +
          '(base64url). Delete the file and start again to have a new key made (tokens signed with the old one stop working).',
      );
    }
    return new LocalTokens(new Uint8Array(key), accountClaim);
  }

  /** A token for the account with `scopes` (all of them unless narrowed) in the OAuth `scope` claim. */
  async issue(accountId: number, { scopes = ALL_SCOPES, ttlSeconds = 12 * 3600 }: { scopes?: readonly Scope[]; ttlSeconds?: number } = {}): Promise<string> {
    return new SignJWT({ [this.accountClaim]: accountId, scope: scopes.join(' ') })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setSubject(`account-${accountId}`)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /** The claims as API Gateway hands them to the Lambda (every value a string), or undefined if invalid. */
  async verify(authorization: string | undefined): Promise<Record<string, string> | undefined> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, this.key, { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, algorithms: ['HS256'] });
      return Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    } catch {
      return undefined;
    }
  }
}

