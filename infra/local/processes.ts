import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * Processes recorded in files under DATA_DIR: the runtime's lock and DynamoDB Local's pid file.
 * A record names a pid and that process's command line; it still stands only while a process
 * with that pid runs that same command line (a pid alone may since have been reused).
 */
export interface ProcessRecord {
  readonly pid: number;
  readonly commandLine: string;
  readonly startedAt: string;
}

/** The command line of a running process, or undefined when no process has that pid. */
export async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (process.platform === 'linux') return undefined;
  // No /proc (macOS): ask ps.
  try {
    const { stdout } = await promisify(execFile)('ps', ['-o', 'args=', '-p', String(pid)]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function readProcessRecord(file: string): Promise<ProcessRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as ProcessRecord;
    return Number.isInteger(record.pid) && typeof record.commandLine === 'string' ? record : undefined;
  } catch {
    // Cut short by a crash while it was written: it names no process.
    return undefined;
  }
}

export async function isRunning(record: ProcessRecord): Promise<boolean> {
  return (await commandLineOf(record.pid)) === record.commandLine;
}

export async function recordOf(pid: number): Promise<ProcessRecord> {
  const commandLine = await commandLineOf(pid);
  if (commandLine === undefined) throw new Error(`Process ${pid} is not running`);
  return { pid, commandLine, startedAt: new Date().toISOString() };
}

/** Writes the record only if the file does not exist yet; false if it does. */
export async function createProcessRecord(file: string, record: ProcessRecord): Promise<boolean> {
  try {
    await writeFile(file, JSON.stringify(record), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes the file if it still holds this record (another process may have replaced it). */
export async function removeProcessRecord(file: string, record: ProcessRecord | undefined): Promise<void> {
  const current = await readProcessRecord(file).catch(() => undefined);
  if (current === undefined || (record !== undefined && current.pid === record.pid && current.commandLine === record.commandLine)) {
    await rm(file, { force: true });
  }
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`; resolves once it is gone. */
export async function terminate(record: ProcessRecord, graceMs = 5000): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(record.pid, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await isRunning(record)) {
    if (Date.now() > deadline) signal('SIGKILL');
    await sleep(50);
  }
}
