import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commandLineOf } from '../../../infra/local/processes';
import { recordedPid, startRuntimeProcess } from '../support/runtime-process';

jest.setTimeout(120_000);

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'one-runtime-'));
});

afterEach(() => rm(dataDir, { recursive: true, force: true }));

describe('npm start', () => {
  it('refuses a DATA_DIR that another runtime uses, naming it, and leaves that one unharmed', async () => {
    const first = startRuntimeProcess(dataDir);
    try {
      const { apiUrl } = await first.ready;
      const firstPid = await recordedPid(dataDir, 'runtime.lock');
      const jvm = await recordedPid(dataDir, 'dynamodb-local.pid');

      const second = startRuntimeProcess(dataDir);
      expect(await second.exited).not.toBe(0);
      expect(second.output()).toMatch(new RegExp(`DATA_DIR \\S+ is in use by the local runtime with pid ${firstPid} .*give this one another DATA_DIR`));
      expect(second.output()).not.toMatch(/^ready$/m);

      expect((await fetch(`${apiUrl}/health`)).status).toBe(200);
      expect(await recordedPid(dataDir, 'runtime.lock')).toBe(firstPid);
      expect(await recordedPid(dataDir, 'dynamodb-local.pid')).toBe(jvm);

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(await commandLineOf(jvm)).toBeUndefined();
    } finally {
      first.child.kill('SIGTERM');
    }
  });

  it('says what is missing and how to install it when there is no Java, and exits at once', async () => {
    // A PATH with node on it and nothing else.
    const bin = join(dataDir, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    const child = spawn(join(bin, 'node'), ['--import', 'tsx', 'infra/local/main.ts'], {
      cwd: resolve(__dirname, '../../..'),
      env: { PATH: bin, DATA_DIR: join(dataDir, 'data'), PORT: '0', EVENTS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(1);
    expect(output).toContain('Java 17 or later is needed to run DynamoDB Local, and there is no java on the PATH. Install it with:');
    if (process.platform === 'linux') expect(output).toContain('sudo apt-get install openjdk-17-jre-headless');
    expect(output).not.toContain('ENOENT');
  });
});
