import { open, readFile, rename, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A write-ahead journal of the local queues' messages, so that what a queue acknowledged
 * survives kill -9. Each change is one JSON line: a message sent (or moved to another queue),
 * deleted, hidden until a time (ChangeMessageVisibility) or purged. Lines appended while a write
 * is on its way are written and flushed together by the next one (group commit), and `sync()`
 * resolves once everything appended before it is on disk. The journal keeps the live state in
 * memory too, so compaction — rewriting the file as just that state — needs no reading.
 */
export interface JournaledMessage {
  readonly messageId: string;
  readonly [field: string]: unknown;
}

export type JournalRecord =
  | { readonly op: 'send'; readonly queue: string; readonly message: JournaledMessage }
  | { readonly op: 'delete'; readonly id: string }
  | { readonly op: 'hide'; readonly id: string; readonly until: number }
  | { readonly op: 'purge'; readonly queue: string }
  /** Written last by a clean stop. */
  | { readonly op: 'stopped'; readonly at: number };

export interface LiveMessage {
  readonly queue: string;
  readonly message: JournaledMessage;
  /** Epoch ms until which the message stays hidden (set by ChangeMessageVisibility). */
  readonly hiddenUntil?: number;
}

/** What a start found in the journal. */
export interface Recovered {
  /** Live messages in the order they were sent (so FIFO order per group). */
  readonly messages: readonly LiveMessage[];
  /** When the journal was last written. */
  readonly writtenAt: Date;
  /** Whether the previous run stopped cleanly (otherwise it crashed or was killed). */
  readonly stoppedCleanly: boolean;
}

export interface QueueJournalOptions {
  /**
   * Compact once the file is this much larger than the last compacted state.
   * @default 32 MiB
   */
  readonly compactAfterBytes?: number;
}

const DEFAULT_COMPACT_AFTER_BYTES = 32 * 1024 * 1024;

export class QueueJournal {
  private readonly live = new Map<string, LiveMessage>();
  private pending: string[] = [];
  private appended = 0;
  private durable = 0;
  private waiters: { upTo: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  private size = 0;
  private compactedSize = 0;
  private closed = false;

  private handle: FileHandle | undefined;

  private constructor(
    private readonly file: string,
    private readonly compactAfterBytes: number,
  ) {}

  /** Reads what a previous run left, rewrites it compacted, and opens the journal for appending. */
  static async open(file: string, options: QueueJournalOptions = {}): Promise<{ journal: QueueJournal; recovered?: Recovered }> {
    const previous = await readJournal(file);
    const journal = new QueueJournal(file, options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES);
    for (const record of previous?.records ?? []) journal.apply(record);
    await journal.compact();
    const recovered = previous && { messages: [...journal.live.values()], writtenAt: previous.writtenAt, stoppedCleanly: previous.stoppedCleanly };
    return { journal, recovered };
  }

  /** Records a change; it is on disk once a later `sync()` resolves. */
  append(record: JournalRecord): void {
    if (this.closed) throw new Error('The queue journal is closed');
    this.apply(record);
    this.pending.push(JSON.stringify(record));
    this.appended++;
    this.kick();
  }

  /** Resolves once every record appended so far is on disk; rejects if the journal cannot be written. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durable >= this.appended) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.appended, resolve, reject }));
  }

  /** Flushes, compacts and marks a clean stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
    await this.compact({ op: 'stopped', at: Date.now() });
    await this.handle?.close();
    this.handle = undefined;
  }

  private apply(record: JournalRecord): void {
    switch (record.op) {
      case 'send':
        // A message moved to another queue (a redrive to a dead-letter queue) keeps its id.
        this.live.delete(record.message.messageId);
        this.live.set(record.message.messageId, { queue: record.queue, message: record.message });
        return;
      case 'delete':
        this.live.delete(record.id);
        return;
      case 'hide': {
        const entry = this.live.get(record.id);
        if (entry) this.live.set(record.id, { ...entry, hiddenUntil: record.until });
        return;
      }
      case 'purge':
        for (const [id, entry] of this.live) if (entry.queue === record.queue) this.live.delete(id);
        return;
      case 'stopped':
        return;
    }
  }

  /** Starts a write on the next turn of the event loop, so that one write carries a whole turn's records. */
  private kick(): void {
    if (this.writing || this.failure) return;
    this.writing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        this.writing = undefined;
        if (this.pending.length > 0) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      if (this.size > this.compactedSize + this.compactAfterBytes) {
        await this.compact();
        continue;
      }
      const lines = this.pending;
      this.pending = [];
      const upTo = this.appended;
      const text = Buffer.from(`${lines.join('\n')}\n`);
      await this.handle!.write(text);
      await this.handle!.datasync();
      this.size += text.length;
      this.settle(upTo);
    }
  }

  /**
   * Replaces the file with the live state (which already includes every record appended so far)
   * through a temporary file and a rename, so a crash at any point leaves one whole journal.
   */
  private async compact(last?: JournalRecord): Promise<void> {
    const upTo = this.appended;
    this.pending = [];
    const lines: string[] = [];
    for (const { queue, message, hiddenUntil } of this.live.values()) {
      lines.push(JSON.stringify({ op: 'send', queue, message } satisfies JournalRecord));
      if (hiddenUntil !== undefined) lines.push(JSON.stringify({ op: 'hide', id: message.messageId, until: hiddenUntil } satisfies JournalRecord));
    }
    if (last) lines.push(JSON.stringify(last));
    const text = Buffer.from(lines.length > 0 ? `${lines.join('\n')}\n` : '');
    const temporary = await open(`${this.file}.tmp`, 'w', 0o600);
    try {
      await temporary.write(text);
      await temporary.datasync();
    } finally {
      await temporary.close();
    }
    await rename(`${this.file}.tmp`, this.file);
    await syncDirectory(dirname(this.file));
    await this.handle?.close();
    this.handle = await open(this.file, 'a', 0o600);
    this.size = this.compactedSize = text.length;
    this.settle(upTo);
  }

  private settle(upTo: number): void {
    this.durable = Math.max(this.durable, upTo);
    const done = this.waiters.filter((w) => w.upTo <= this.durable);
    this.waiters = this.waiters.filter((w) => w.upTo > this.durable);
    for (const waiter of done) waiter.resolve();
  }

  private fail(error: Error): void {
    this.failure = new Error(`Cannot write the queue journal ${this.file}: ${error.message}`);
    for (const waiter of this.waiters) waiter.reject(this.failure);
    this.waiters = [];
  }
}

async function readJournal(file: string): Promise<{ records: JournalRecord[]; writtenAt: Date; stoppedCleanly: boolean } | undefined> {
  let text: string;
  let writtenAt: Date;
  try {
    [text, { mtime: writtenAt }] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const records: JournalRecord[] = [];
  for (const [index, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch {
      // A crash mid-write leaves at most the last line cut short; that write was never acknowledged.
      if (index === lines.length - 1) break;
      throw new Error(`The queue journal ${file} is damaged at line ${index + 1}; move it away to start with empty queues.`);
    }
  }
  return { records, writtenAt, stoppedCleanly: records.at(-1)?.op === 'stopped' };
}

/** Makes a rename in the directory durable. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
