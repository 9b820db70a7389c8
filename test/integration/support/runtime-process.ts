import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * `npm start` as a user runs it, in a child process: its own DynamoDB Local under DATA_DIR,
 * ephemeral ports. The runtime's own pid (npm's grandchild) is read from its lock in DATA_DIR.
 */
export interface RuntimeProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves at `ready` with what the start printed; rejects if the process exits first. */
  readonly ready: Promise<{ apiUrl: string; eventsUrl: string; token: string }>;
  /** npm's exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

const ROOT = resolve(__dirname, '../../..');

export function startRuntimeProcess(dataDir: string, env: Record<string, string> = {}): RuntimeProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_ENDPOINT_URL')));
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...inherited, DATA_DIR: dataDir, PORT: '0', EVENTS_PORT: '0', POWERTOOLS_LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | NodeJS.Signals>((done) => child.once('exit', (code, signal) => done(code ?? signal!)));
  const ready = new Promise<{ apiUrl: string; eventsUrl: string; token: string }>((done, fail) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (!/^ready$/m.test(output)) return;
      done({
        apiUrl: /^Admin API:\s+(\S+)/m.exec(output)![1]!,
        eventsUrl: /^PutEvents:\s+(\S+)/m.exec(output)![1]!,
        token: /^Admin token for account \d+:\n(\S+)/m.exec(output)![1]!,
      });
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then((how) => fail(new Error(`npm start ended (${how}) before ready:\n${output}`)));
  });
  ready.catch(() => undefined);
  return { child, output: () => output, ready, exited };
}

/** The pid that a process file under DATA_DIR records: `runtime.lock` (the runtime) or `dynamodb-local.pid`. */
export async function recordedPid(dataDir: string, file: 'runtime.lock' | 'dynamodb-local.pid'): Promise<number> {
  return (JSON.parse(await readFile(join(dataDir, file), 'utf8')) as { pid: number }).pid;
}
