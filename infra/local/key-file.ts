import { randomBytes } from 'node:crypto';
import { link, open, readFile, rm } from 'node:fs/promises';

/** A secret key kept base64url-encoded in a file under DATA_DIR; undefined while there is none. */
export async function readKeyFile(path: string): Promise<Buffer | undefined> {
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Makes a new random key file whole or not at all: written to a temporary file and flushed, then
 * linked into place. A link, unlike a rename, never replaces a key that another process (`npm run
 * token`, a runtime) made meanwhile; that key is returned instead.
 */
export async function createKeyFile(path: string, bytes: number): Promise<Buffer> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(randomBytes(bytes).toString('base64url'));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temporary, { force: true });
  }
  return (await readKeyFile(path))!;
}
