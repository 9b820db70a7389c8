import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';

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
    const key = (await readKey(path)) ?? (await createKey(path));
    return new LocalTokens(new Uint8Array(key), accountClaim);
  }

  async issue(accountId: number, ttlSeconds = 12 * 3600): Promise<string> {
    return new SignJWT({ [this.accountClaim]: accountId })
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

async function readKey(path: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(
      `The local JWT signing key ${path} is ${key.length === 0 ? 'empty' : `only ${key.length} bytes long`}; it needs at least ${MIN_KEY_BYTES} ` +
        '(base64url). Delete the file and start again to have a new key made (tokens signed with the old one stop working).',
    );
  }
  return key;
}

/**
 * Writes a new key to a temporary file, flushes it, then links it into place: the key file
 * appears whole or not at all. A link, unlike a rename, never replaces a key that another
 * process (`npm run token`, a runtime) made meanwhile; that one is used instead.
 */
async function createKey(path: string): Promise<Buffer> {
  const key = randomBytes(MIN_KEY_BYTES);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(key.toString('base64url'));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readKey(path))!;
  } finally {
    await rm(temporary, { force: true });
  }
}
