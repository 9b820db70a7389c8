import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueJournal } from '../../infra/local/queue-journal';

describe('the queue journal', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'queue-journal-'));
    file = join(dir, 'queues.journal');
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  const message = (n: number) => ({ messageId: `id-${n}`, body: `body ${n}`.padEnd(200, '.') });

  it('has a change on disk when sync() resolves, and replays sends, deletes, hides and moves in order', async () => {
    const { journal, recovered } = await QueueJournal.open(file);
    expect(recovered).toBeUndefined();
    for (let n = 0; n < 5; n++) journal.append({ op: 'send', queue: 'q', message: message(n) });
    journal.append({ op: 'delete', id: 'id-1' });
    journal.append({ op: 'hide', id: 'id-2', until: 4_000_000_000_000 });
    journal.append({ op: 'send', queue: 'dlq', message: message(0) });
    await journal.sync();
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(8);

    // No close: what a killed process leaves behind.
    const reopened = await QueueJournal.open(file);
    expect(reopened.recovered).toMatchObject({
      stoppedCleanly: false,
      messages: [
        { queue: 'q', message: message(2), hiddenUntil: 4_000_000_000_000 },
        { queue: 'q', message: message(3) },
        { queue: 'q', message: message(4) },
        { queue: 'dlq', message: message(0) },
      ],
    });
    await reopened.journal.close();
    await journal.close();
  });

  it('ignores a last line cut short by a crash, and refuses a damaged one elsewhere', async () => {
    const { journal } = await QueueJournal.open(file);
    journal.append({ op: 'send', queue: 'q', message: message(1) });
    await journal.sync();
    await appendFile(file, '{"op":"send","queue":"q","mess');
    const reopened = await QueueJournal.open(file);
    expect(reopened.recovered!.messages.map((m) => m.message.messageId)).toEqual(['id-1']);
    await reopened.journal.close();

    await appendFile(file, '{"op":\n{"op":"delete","id":"id-1"}\n');
    await expect(QueueJournal.open(file)).rejects.toThrow(/damaged at line 3; move it away/);
    await journal.close().catch(() => undefined);
  });

  it('compacts itself as it grows and on a clean stop, keeping only live messages', async () => {
    const { journal } = await QueueJournal.open(file, { compactAfterBytes: 10_000 });
    for (let n = 0; n < 500; n++) {
      journal.append({ op: 'send', queue: 'q', message: message(n) });
      if (n % 10 !== 0) journal.append({ op: 'delete', id: `id-${n}` });
      if (n % 20 === 0) await journal.sync();
    }
    await journal.sync();
    // 500 sends of ~250 bytes each were written; the file holds about the 50 live ones.
    expect((await stat(file)).size).toBeLessThan(10_000 + 50 * 300 + 2_000);
    await journal.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(51);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ op: 'stopped' });

    const reopened = await QueueJournal.open(file);
    expect(reopened.recovered!.stoppedCleanly).toBe(true);
    expect(reopened.recovered!.messages.map((m) => m.message.messageId)).toEqual(Array.from({ length: 50 }, (_, i) => `id-${i * 10}`));
    await reopened.journal.close();
  });
});
