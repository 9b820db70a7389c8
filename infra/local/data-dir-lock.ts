import { join } from 'node:path';
import { createProcessRecord, isRunning, readProcessRecord, recordOf, removeProcessRecord } from './processes';

/**
 * One runtime per DATA_DIR: two would each replay and rewrite the same queue journal and start
 * a DynamoDB Local on the same files. The lock file names the runtime's process; a lock whose
 * process no longer runs (a crashed or killed runtime) is taken over.
 */
const LOCK_FILE = 'runtime.lock';

export class DataDirInUseError extends Error {}

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = join(dataDir, LOCK_FILE);
  const mine = await recordOf(process.pid);
  for (;;) {
    if (await createProcessRecord(file, mine)) return { release: () => removeProcessRecord(file, mine) };
    const holder = await readProcessRecord(file);
    if (holder && (await isRunning(holder))) {
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is in use by the local runtime with pid ${holder.pid} (since ${holder.startedAt}: ${holder.commandLine}). ` +
          `Stop that one first (Ctrl-C in its terminal, or kill ${holder.pid}), or give this one another DATA_DIR.`,
      );
    }
    // Left by a runtime that no longer runs. Removed only if still the same file, so that of
    // two runtimes taking over at once, one wins the next create and the other sees it running.
    await removeProcessRecord(file, holder ?? undefined);
  }
}
