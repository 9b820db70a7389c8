import './bench-env';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startDynamoDbLocal, type DynamoDbLocal } from '../infra/local/dynamodb-local';
import { parseLocalEnv, startLocalRuntime, type LocalRuntime } from '../infra/local/runtime';
import { deliveryHeaders, envelopeBody, eventInfoFor } from '../shared/events/envelope';
import { newId } from '../shared/ids';
import { generateSigningSecret } from '../shared/signing';
import { DELIVERY_QUEUE } from '../shared/wiring';
import { costPerMillion, countAwsCalls, UNIT_PRICES, type CostTally } from './bench-aws-cost';
import type { ListenerCommand, ListenerMessage, ListenerStats } from './bench-listener';
import type { ProducerCommand, ProducerMessage, ProducerSettings } from './bench-producer';
import { ACCOUNTS, BUS_NAME, CREDENTIALS, EVENT_NAMES, eventData, FIRST_ACCOUNT, GROUPS, groupOf, PUT_EVENTS_MAX_ENTRIES, REGION } from './bench-workload';

/**
 * `npm run bench`: real-time throughput of the local runtime, end to end. 20 accounts × 5 webhooks
 * (the per-account maximum), each webhook subscribed to its own real-time event name, so every
 * event yields exactly one signed delivery and N events spread over 100 message groups. The
 * producers and the listener run in processes of their own, as an LMS and a customer's endpoint
 * are outside the service. A raw baseline (the same listener hit directly at the same concurrency)
 * frames the result. Loopback only.
 *
 *   npm run bench -- [--events 20000] [--producers 4] [--paced-seconds 20] [--paced-load 0.5]
 *                    [--delivery-concurrency 8] [--router-concurrency 1] [--router-batch-size 1000] [--stall-seconds 60] [--sparse-events 200]
 *                    [--omit-timestamp] [--event-bytes 1024] [--journal on|off] [--listener-ms 0]
 *
 * Events carry their `timestamp`, as ALM producers send it; `--omit-timestamp` leaves it out, so the
 * router fills it in (and pins it to the eventId: one more small write per event).
 */
const PROGRESS_EVERY_MS = 5000;
const POLL_MS = 250;
/** Sparse events are waited for one by one: a coarse poll would only measure the poll. */
const SPARSE_POLL_MS = 5;

interface Options {
  readonly events: number;
  readonly producers: number;
  readonly pacedSeconds: number;
  readonly pacedLoad: number;
  readonly deliveryConcurrency: number;
  readonly routerConcurrency: number;
  readonly routerBatchSize: number;
  readonly stallSeconds: number;
  readonly sparseEvents: number;
  readonly eventBytes: number;
  readonly omitTimestamp: boolean;
  /** Whether the queues journal their messages to disk, as `npm start` does (off: in memory only). */
  readonly journal: boolean;
  /** How long the listener takes to answer: a slow one lets each webhook's backlog build, so drains send pages. */
  readonly listenerMs: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '20000' },
      producers: { type: 'string', default: '4' },
      'paced-seconds': { type: 'string', default: '20' },
      'paced-load': { type: 'string', default: '0.5' },
      'delivery-concurrency': { type: 'string' },
      'router-concurrency': { type: 'string' },
      'router-batch-size': { type: 'string' },
      'stall-seconds': { type: 'string', default: '60' },
      'omit-timestamp': { type: 'boolean', default: false },
      'sparse-events': { type: 'string', default: '200' },
      'event-bytes': { type: 'string', default: '1024' },
      journal: { type: 'string', default: 'on' },
      'listener-ms': { type: 'string', default: '0' },
    },
  });
  // The runtime's own defaults (and DELIVERY_CONCURRENCY / ROUTER_CONCURRENCY / ROUTER_BATCH_SIZE from the environment).
  const defaults = parseLocalEnv({
    DELIVERY_CONCURRENCY: process.env.DELIVERY_CONCURRENCY,
    ROUTER_CONCURRENCY: process.env.ROUTER_CONCURRENCY,
    ROUTER_BATCH_SIZE: process.env.ROUTER_BATCH_SIZE,
  });
  const whole = (name: string, text: string | undefined, fallback: number, min: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number ≥ ${min}, not ${text}`);
    return value;
  };
  const pacedLoad = Number(values['paced-load']);
  if (!(pacedLoad > 0 && pacedLoad <= 1)) throw new Error(`--paced-load must be in (0, 1], not ${values['paced-load']}`);
  if (values.journal !== 'on' && values.journal !== 'off') throw new Error(`--journal must be on or off, not ${values.journal}`);
  return {
    events: whole('events', values.events, 20_000, GROUPS),
    producers: whole('producers', values.producers, 4, 1),
    pacedSeconds: whole('paced-seconds', values['paced-seconds'], 20, 0),
    pacedLoad,
    deliveryConcurrency: whole('delivery-concurrency', values['delivery-concurrency'], defaults.DELIVERY_CONCURRENCY, 1),
    routerConcurrency: whole('router-concurrency', values['router-concurrency'], defaults.ROUTER_CONCURRENCY, 1),
    routerBatchSize: whole('router-batch-size', values['router-batch-size'], defaults.ROUTER_BATCH_SIZE, 1),
    stallSeconds: whole('stall-seconds', values['stall-seconds'], 60, 1),
    sparseEvents: whole('sparse-events', values['sparse-events'], 200, 0),
    omitTimestamp: values['omit-timestamp'] ?? false,
    eventBytes: whole('event-bytes', values['event-bytes'], 1024, 0),
    journal: values.journal === 'on',
    listenerMs: whole('listener-ms', values['listener-ms'], 0, 0),
  };
}

// ---------------------------------------------------------------- the listener and the producers (child processes)

/** A bench script in a process of its own, driven over IPC. */
function forkScript(script: string, ...args: string[]): ChildProcess {
  return fork(join(__dirname, script), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Disconnects a child (which then exits), killing it if it has not within 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(kill);
}

class Listener {
  private requests = 0;
  private readonly waiting = new Map<number, (stats: ListenerStats) => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (message: ListenerMessage) => {
      if (message.type !== 'stats') return;
      this.waiting.get(message.id)?.(message.stats);
      this.waiting.delete(message.id);
    });
  }

  static async start(): Promise<Listener> {
    const child = forkScript('bench-listener.ts');
    const url = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the listener exited (${code}) before it was ready`)));
      child.once('message', (message: ListenerMessage) => (message.type === 'ready' ? resolve(message.url) : reject(new Error('unexpected listener message'))));
    });
    child.removeAllListeners('exit');
    return new Listener(child, url);
  }

  private command(command: ListenerCommand): void {
    this.child.send(command);
  }

  reset(): void {
    this.command({ type: 'reset' });
  }

  /** From now on, answer each request after `ms`. */
  answerAfter(ms: number): void {
    this.command({ type: 'answer-after', ms });
  }

  checkSignatures(secrets: Record<string, string>): void {
    this.command({ type: 'secrets', secrets });
  }

  stats(latencies = false): Promise<ListenerStats> {
    const id = ++this.requests;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.command({ type: 'stats', id, latencies });
    });
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

// ---------------------------------------------------------------- events and deliveries

const groupKey = (accountId: number, eventName: string) => `${accountId}:${eventName}`;

/** The padding that makes one event's delivered body `bytes` long (as near as the unpadded body allows). */
function paddingFor(bytes: number): string {
  const timestamp = Date.now();
  const { accountId, eventName } = groupOf(0);
  const unpadded = envelopeBody(accountId, [{ eventId: randomUUID(), eventName, timestamp, eventInfo: eventInfoFor(timestamp, 0), data: eventData(GROUPS * 1000, timestamp, '') }]);
  const fieldOverhead = Buffer.byteLength(',"padding":""');
  return 'x'.repeat(Math.max(0, bytes - Buffer.byteLength(unpadded) - fieldOverhead));
}

/** The producers' process (bench-producer.ts): PutEvents calls, counted into the AWS tally. */
class Producers {
  private requests = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  private constructor(
    readonly child: ChildProcess,
    private readonly onPut: (calls: number, entries: number) => void,
  ) {
    child.on('message', (message: ProducerMessage) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.type === 'done') {
        this.onPut(message.calls, message.entries);
        waiter?.resolve();
      } else waiter?.reject(new Error(message.error));
    });
    child.once('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`the producers exited (${code})`));
      this.waiting.clear();
    });
  }

  static start(settings: ProducerSettings, onPut: (calls: number, entries: number) => void): Producers {
    const child = forkScript('bench-producer.ts', JSON.stringify(settings));
    return new Producers(child, onPut);
  }

  private run(command: DistributiveOmit<ProducerCommand, 'id'>): Promise<void> {
    const id = ++this.requests;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...command, id });
    });
  }

  /** `total` events as fast as `concurrency` callers can put them. */
  putAll(total: number, concurrency: number): Promise<void> {
    return this.run({ type: 'put-all', total, concurrency });
  }

  /** `total` events at `perSecond`, in calls of 10 on a fixed schedule. */
  putPaced(total: number, perSecond: number): Promise<void> {
    return this.run({ type: 'put-paced', total, perSecond });
  }

  /** One PutEvents call with the next `count` events. */
  putNext(count: number): Promise<void> {
    return this.run({ type: 'put-next', count });
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Waits until the listener has `expected` requests; fails when none arrives for `stallSeconds`. */
async function waitForDeliveries(listener: Listener, expected: number, stallSeconds: number, queues: QueueDepths, pollMs = POLL_MS): Promise<ListenerStats> {
  let last = -1;
  let lastChange = Date.now();
  let lastReport = Date.now();
  for (;;) {
    const stats = await listener.stats();
    if (stats.received >= expected) return stats;
    const now = Date.now();
    if (stats.received !== last) {
      last = stats.received;
      lastChange = now;
    } else if (now - lastChange > stallSeconds * 1000) {
      throw new Error(`deliveries stalled: no request reached the listener for ${stallSeconds} s (${stats.received} of ${expected}); ${await queues.describe()}`);
    }
    if (now - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = now;
      console.log(`  … ${stats.received}/${expected} delivered; ${await queues.describe()}`);
    }
    await sleep(pollMs);
  }
}

/** The local queues' backlog, for progress lines and the stall message. */
class QueueDepths {
  private readonly client = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS, region: REGION, credentials: CREDENTIALS });

  async describe(): Promise<string> {
    try {
      const { QueueUrls = [] } = await this.client.send(new ListQueuesCommand({}));
      const parts = await Promise.all(
        QueueUrls.map(async (url) => {
          const { Attributes = {} } = await this.client.send(
            new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
          );
          return `${url.slice(url.lastIndexOf('/') + 1)} ${Attributes.ApproximateNumberOfMessages}+${Attributes.ApproximateNumberOfMessagesNotVisible} in flight`;
        }),
      );
      return `queues: ${parts.join(', ')}`;
    } catch (error) {
      return `queues: unknown (${(error as Error).message})`;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

// ---------------------------------------------------------------- raw baseline

interface BaselineResult {
  readonly concurrency: number;
  readonly perSecond: number;
  readonly latency: Percentiles;
}

/**
 * The listener hit directly: `total` POSTs of delivery-sized, signed bodies from `concurrency`
 * callers over keep-alive connections — what the loopback, the listener and an HTTP client manage
 * without the service in between.
 */
async function rawBaseline(listener: Listener, total: number, concurrency: number, padding: string): Promise<BaselineResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const secret = generateSigningSecret();
  const target = new URL(listener.url);
  const post = (n: number) => {
    const { accountId, eventName } = groupOf(n % GROUPS);
    const timestamp = Date.now();
    const body = envelopeBody(accountId, [{ eventId: randomUUID(), eventName, timestamp, eventInfo: eventInfoFor(timestamp, n % 1_000_000), data: eventData(n, timestamp, padding) }]);
    const headers = deliveryHeaders({ messageId: newId('msg'), timestampSeconds: Math.floor(timestamp / 1000), body, auth: { type: 'SIGNATURE', secrets: [secret] } });
    return new Promise<void>((resolve, reject) => {
      const req = http.request(target, {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'lms-webhooks/1.0' },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`baseline request got HTTP ${res.statusCode}`))));
      });
      req.end(body);
    });
  };
  const run = async (count: number) => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) await post(next++);
    }));
  };
  try {
    await run(Math.min(1000, total)); // warm-up: connections, JIT
    listener.reset();
    const started = performance.now();
    await run(total);
    const seconds = (performance.now() - started) / 1000;
    const stats = await listener.stats(true);
    if (stats.received !== total) throw new Error(`the listener counted ${stats.received} baseline requests, not ${total}`);
    return { concurrency, perSecond: total / seconds, latency: percentiles(stats.latencies ?? []) };
  } finally {
    agent.destroy();
  }
}

// ---------------------------------------------------------------- AWS calls

/** `DEDUP+DELIVERY`, `WEBHOOK`, …: the kinds (sort-key prefixes) of the items a call reads or writes. */
function itemKinds(input: Record<string, unknown>): string {
  // Keys as written (document commands) or marshalled (the handlers' client sends DynamoDB's own).
  const text = (value: unknown) => (typeof value === 'string' ? value : (value as { S?: unknown } | undefined)?.S);
  const kind = (sk: unknown) => {
    const value = text(sk);
    return typeof value === 'string' ? value.split('#')[0]! : '?';
  };
  type Key = { sk?: unknown } | undefined;
  if (Array.isArray(input.TransactItems)) {
    return (input.TransactItems as Record<string, { Key?: Key; Item?: Key }>[])
      .map((item) => Object.values(item)[0])
      .map((op) => kind((op?.Key ?? op?.Item)?.sk))
      .join('+');
  }
  if (input.Key) return kind((input.Key as Key)?.sk);
  if (input.Item) return kind((input.Item as Key)?.sk);
  // BatchWriteItem: the first request's item names the batch.
  const [writes] = Object.values((input.RequestItems ?? {}) as Record<string, unknown>);
  if (Array.isArray(writes)) {
    const first = writes[0] as { PutRequest?: { Item?: Key }; DeleteRequest?: { Key?: Key } } | undefined;
    return kind((first?.PutRequest?.Item ?? first?.DeleteRequest?.Key)?.sk);
  }
  const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
  if (values?.[':prefix'] !== undefined) return kind(values[':prefix']);
  return String(input.IndexName ?? '');
}

/** The router's reads: the account's webhooks version (once per account per batch), its webhooks when they changed, a pinned time. */
const ROUTER_READS = new Set(['DynamoDB GetItem LIMITS', 'DynamoDB Query WEBHOOK', 'DynamoDB GetItem PIN']);

// ---------------------------------------------------------------- processes: CPU and memory

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The machine's busy CPU seconds so far, all processes and cores together. */
async function machineBusySeconds(): Promise<number> {
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const ticks = cpu!.trim().split(/\s+/).slice(1).map(Number);
  const idle = ticks[3]! + ticks[4]!;
  return (ticks.reduce((a, b) => a + b, 0) - idle) / CLOCK_TICKS;
}

/** Peak resident memory of a process (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number | undefined> {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** This process's child named `name` (DynamoDB Local's java), whose pid the runtime does not expose. */
async function childPid(name: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === name && ppid === process.pid) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  return undefined;
}

interface CpuSnapshot {
  readonly self: NodeJS.CpuUsage;
  readonly java?: number;
  readonly listener: number;
  readonly producers: number;
  readonly machine: number;
  readonly loop: ReturnType<typeof performance.eventLoopUtilization>;
}

async function cpuSnapshot(javaPid: number | undefined, listenerPid: number, producersPid: number): Promise<CpuSnapshot> {
  return {
    self: process.cpuUsage(),
    ...(javaPid !== undefined && { java: await cpuSeconds(javaPid) }),
    listener: await cpuSeconds(listenerPid),
    producers: await cpuSeconds(producersPid),
    machine: await machineBusySeconds(),
    loop: performance.eventLoopUtilization(),
  };
}

// ---------------------------------------------------------------- figures

interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (p: Percentiles) => `${fmt(p.p50)} / ${fmt(p.p95)} / ${fmt(p.p99)} ms (max ${fmt(p.max)})`;

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `| ${name.padEnd(width)} | ${value} |`).join('\n');
}

// ---------------------------------------------------------------- the run

async function main(): Promise<number> {
  const options = parseOptions();
  let rssPeak = process.memoryUsage().rss;
  const rssSampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 200);
  atStop(() => clearInterval(rssSampler));
  const loadAtStart = os.loadavg()[0]!;

  const dataDir = await mkdtemp(join(os.tmpdir(), 'lms-webhooks-bench-'));
  atStop(() => rm(dataDir, { recursive: true, force: true }));

  const listener = await Listener.start();
  atStop(() => listener.stop());
  const pid = listener.child.pid!;

  const baselineConcurrency = options.deliveryConcurrency * DELIVERY_QUEUE.batchSize;
  console.log(`raw baseline: ${options.events} POSTs at concurrency ${baselineConcurrency} and ${options.deliveryConcurrency} …`);
  const padding = paddingFor(options.eventBytes);
  const baseline = await rawBaseline(listener, options.events, baselineConcurrency, padding);
  const baselineNarrow = await rawBaseline(listener, options.events, options.deliveryConcurrency, padding);
  // The baseline measures the listener as it is; the slowness is for the service's run.
  listener.answerAfter(options.listenerMs);

  console.log('starting DynamoDB Local and the runtime …');
  const db: DynamoDbLocal = await startDynamoDbLocal();
  atStop(() => db.stop());
  const javaPid = await childPid('java');
  const runtime: LocalRuntime = await startLocalRuntime({
    env: parseLocalEnv({
      PORT: '0',
      EVENTS_PORT: '0',
      DATA_DIR: dataDir,
      TABLE_NAME: 'bench',
      EVENT_BUS_NAME: BUS_NAME,
      DELIVERY_CONCURRENCY: String(options.deliveryConcurrency),
      ROUTER_CONCURRENCY: String(options.routerConcurrency),
      ROUTER_BATCH_SIZE: String(options.routerBatchSize),
    }),
    dynamoDbEndpoint: db.endpoint,
    queueJournal: options.journal,
  });
  atStop(() => runtime.stop());
  const aws = countAwsCalls(itemKinds);
  const queues = new QueueDepths();
  atStop(() => queues.close());

  console.log(`creating ${ACCOUNTS} accounts × ${EVENT_NAMES.length} webhooks …`);
  listener.checkSignatures(await createWebhooks(runtime, listener.url));

  const producer = Producers.start({ eventsUrl: runtime.eventsUrl, padding, omitTimestamp: options.omitTimestamp }, aws.addPutEvents);
  atStop(() => producer.stop());
  console.log('warming up …');
  listener.reset();
  await producer.putAll(2 * GROUPS, options.producers);
  await waitForDeliveries(listener, 2 * GROUPS, options.stallSeconds, queues);

  // Saturation: all N events as fast as the producers can put them.
  console.log(`putting ${options.events} events (${options.producers} producers × PutEvents of ${PUT_EVENTS_MAX_ENTRIES}) …`);
  listener.reset();
  aws.reset();
  const before = await cpuSnapshot(javaPid, pid, producer.child.pid!);
  const startedAt = Date.now();
  await producer.putAll(options.events, options.producers);
  const putSeconds = (Date.now() - startedAt) / 1000;
  console.log(`  all put in ${fmt(putSeconds, 1)} s`);
  const saturated = await waitForDeliveries(listener, options.events, options.stallSeconds, queues);
  const after = await cpuSnapshot(javaPid, pid, producer.child.pid!);
  const busy = aws.snapshot();
  const final = await listener.stats(true);
  const seconds = (final.lastAt - startedAt) / 1000;
  const perSecond = options.events / seconds;

  // Steady load below saturation, for latency that is not just the backlog draining.
  let paced: { perSecond: number; latency: Percentiles; events: number } | undefined;
  if (options.pacedSeconds > 0) {
    const rate = Math.max(PUT_EVENTS_MAX_ENTRIES, Math.round(perSecond * options.pacedLoad));
    const events = Math.max(GROUPS, rate * options.pacedSeconds);
    console.log(`paced: ${events} events at ${rate}/s (${options.pacedLoad * 100}% of the measured throughput) …`);
    await sleep(1000);
    listener.reset();
    await producer.putPaced(events, rate);
    await waitForDeliveries(listener, events, options.stallSeconds, queues);
    const stats = await listener.stats(true);
    paced = { perSecond: rate, events, latency: percentiles(stats.latencies ?? []) };
  }

  // Sparse traffic: one event at a time, each delivered before the next is put, so every receive
  // and every invocation carries one message — the expensive end of the cost range.
  let sparse: Report['sparse'];
  if (options.sparseEvents > 0) {
    console.log(`sparse: ${options.sparseEvents} events, one at a time …`);
    listener.reset();
    aws.reset();
    for (let i = 1; i <= options.sparseEvents; i++) {
      await producer.putNext(1);
      await waitForDeliveries(listener, i, options.stallSeconds, queues, SPARSE_POLL_MS);
    }
    const stats = await listener.stats(true);
    sparse = { tally: aws.snapshot(), events: options.sparseEvents, latency: percentiles(stats.latencies ?? []) };
  }

  const peaks = {
    bench: await peakRssMiB(process.pid),
    java: javaPid === undefined ? undefined : await peakRssMiB(javaPid),
    listener: await peakRssMiB(pid),
  };
  report({
    options,
    loadAtStart,
    baseline,
    baselineNarrow,
    perSecond,
    seconds,
    putSeconds,
    latency: percentiles(final.latencies ?? []),
    paced,
    checks: final,
    received: saturated.received,
    busy,
    sparse,
    before,
    after,
    peaks,
    rssSampledMiB: rssPeak / 2 ** 20,
    javaFound: javaPid !== undefined,
  });
  if (final.duplicates > 0 || final.outOfOrder > 0 || final.badSignatures > 0) {
    console.error('FAILED: duplicate, out-of-order or badly signed deliveries (see checks above)');
    return 1;
  }
  return 0;
}

async function createWebhooks(runtime: LocalRuntime, targetUrl: string): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  await Promise.all(
    Array.from({ length: ACCOUNTS }, async (_, a) => {
      const accountId = FIRST_ACCOUNT + a;
      const token = await runtime.tokens.issue(accountId);
      // One account's webhooks one after another: they share its webhook counter.
      for (const eventName of EVENT_NAMES) {
        const response = await fetch(`${runtime.apiUrl}/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `bench ${eventName}`, targetUrl, auth: { type: 'SIGNATURE' }, events: [eventName] }),
        });
        if (response.status !== 201) throw new Error(`POST /webhooks answered ${response.status}: ${await response.text()}`);
        const { signingSecret } = (await response.json()) as { signingSecret: string };
        secrets[groupKey(accountId, eventName)] = signingSecret;
      }
    }),
  );
  return secrets;
}

interface Report {
  readonly options: Options;
  readonly loadAtStart: number;
  readonly baseline: BaselineResult;
  readonly baselineNarrow: BaselineResult;
  readonly perSecond: number;
  readonly seconds: number;
  readonly putSeconds: number;
  readonly latency: Percentiles;
  readonly paced?: { perSecond: number; latency: Percentiles; events: number };
  readonly checks: ListenerStats;
  readonly received: number;
  readonly busy: CostTally;
  readonly sparse?: { tally: CostTally; events: number; latency: Percentiles };
  readonly before: CpuSnapshot;
  readonly after: CpuSnapshot;
  readonly peaks: { bench?: number; java?: number; listener?: number };
  readonly rssSampledMiB: number;
  readonly javaFound: boolean;
}

function report(r: Report): void {
  const n = r.options.events;
  const cpus = os.cpus();
  const perEvent = (count: number) => fmt(count / n, 3);
  const routerReads = [...r.busy.calls].filter(([label]) => ROUTER_READS.has(label)).reduce((sum, [, count]) => sum + count, 0);
  const selfCpu = (r.after.self.user - r.before.self.user + r.after.self.system - r.before.self.system) / 1e6;
  const javaCpu = r.after.java !== undefined && r.before.java !== undefined ? r.after.java - r.before.java : undefined;
  const listenerCpu = r.after.listener - r.before.listener;
  const machineCpu = r.after.machine - r.before.machine;
  const producersCpu = r.after.producers - r.before.producers;
  const othersCpu = machineCpu - selfCpu - (javaCpu ?? 0) - listenerCpu - producersCpu;
  const loop = performance.eventLoopUtilization(r.after.loop, r.before.loop);
  const perDelivery = (cpuSeconds: number) => `${fmt((cpuSeconds / n) * 1e6)} µs/delivery (${fmt((cpuSeconds / r.seconds) * 100)}% of a core)`;
  const mib = (value: number | undefined) => (value === undefined ? 'n/a' : `${fmt(value)} MiB`);

  console.log('\nAWS calls during the saturated run (DynamoDB: operation and item kinds; SQS: also the queue type):');
  console.log(table([...r.busy.calls].sort(([, a], [, b]) => b - a).map(([label, count]) => [label, `${fmt(count)} (${perEvent(count)}/event)`] as [string, string])));

  console.log(`\nReal-time benchmark: ${fmt(n)} events of ${fmt(r.options.eventBytes)} bytes (as delivered) → ${fmt(r.received)} deliveries, ${ACCOUNTS} accounts × ${EVENT_NAMES.length} webhooks, SIGNATURE auth`);
  console.log(
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim()}), ${fmt(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${fmt(r.loadAtStart, 2)} at start`,
  );
  console.log(
    `settings: ROUTER_CONCURRENCY ${r.options.routerConcurrency}, ROUTER_BATCH_SIZE ${r.options.routerBatchSize}, DELIVERY_CONCURRENCY ${r.options.deliveryConcurrency}, ${r.options.producers} producers × PutEvents of ${PUT_EVENTS_MAX_ENTRIES}, queue journal ${r.options.journal ? 'on' : 'off'}, listener answers after ${r.options.listenerMs} ms\n`,
  );
  const rows: [string, string][] = [
    ['deliveries/s end to end', `${fmt(r.perSecond)} (${fmt(n)} in ${fmt(r.seconds, 1)} s; all put after ${fmt(r.putSeconds, 1)} s)`],
    ['put rate (PutEvents → bus → ingest queue)', `${fmt(n / r.putSeconds)} events/s`],
    [`raw baseline, concurrency ${r.baseline.concurrency}`, `${fmt(r.baseline.perSecond)} requests/s (listener latency p50 ${fmt(r.baseline.latency.p50)} ms)`],
    [`raw baseline, concurrency ${r.baselineNarrow.concurrency}`, `${fmt(r.baselineNarrow.perSecond)} requests/s`],
    ['ratio to raw baseline', `${fmt((r.perSecond / r.baseline.perSecond) * 100, 1)}% (${fmt((r.perSecond / r.baselineNarrow.perSecond) * 100, 1)}% of the narrow one)`],
    ['latency PutEvents→listener, saturated', ms(r.latency)],
    ...(r.paced
      ? ([[`latency at ${fmt(r.paced.perSecond)} events/s (paced)`, `${ms(r.paced.latency)} over ${fmt(r.paced.events)} events`]] as [string, string][])
      : []),
    ...(r.sparse ? ([['latency, sparse (one event at a time)', `${ms(r.sparse.latency)} over ${fmt(r.sparse.events)} events`]] as [string, string][]) : []),
    ['router DynamoDB reads per event', `${fmt(routerReads / n, 4)} (${fmt(routerReads)} Query/GetItem in total)`],
    ['DynamoDB calls per delivery', `${fmt(r.busy.dynamoDbCalls / n, 2)} (all handlers)`],
    ['peak RSS, runtime process (node)', `${mib(r.peaks.bench)} (VmHWM; sampled ${mib(r.rssSampledMiB)})`],
    ['peak RSS, DynamoDB Local (java)', r.javaFound ? mib(r.peaks.java) : 'n/a (its process was not found)'],
    ['peak RSS, listener', mib(r.peaks.listener)],
    ['CPU, runtime process (node)', `${perDelivery(selfCpu)}; event loop ${fmt(loop.utilization * 100)}% busy`],
    ['CPU, DynamoDB Local (java)', javaCpu === undefined ? 'n/a' : perDelivery(javaCpu)],
    ['CPU, listener', perDelivery(listenerCpu)],
    ['CPU, producers (PutEvents)', perDelivery(producersCpu)],
    ['CPU, other processes on the machine', `${fmt((othersCpu / r.seconds) * 100)}% of a core`],
    ['peak requests in flight at the listener', fmt(r.checks.peakInFlight)],
    [
      'checks',
      `${r.checks.duplicates} duplicates, ${r.checks.outOfOrder} out of order, ${r.checks.signaturesChecked - r.checks.badSignatures}/${r.checks.signaturesChecked} signatures valid`,
    ],
  ];
  console.log(table(rows));
  console.log(costTable(r));
}

/** Units and requests per event, and what they cost on AWS, busy (the saturated run) and sparse. */
function costTable(r: Report): string {
  const columns: [string, CostTally, number][] = [['busy', r.busy, r.options.events]];
  if (r.sparse) columns.push(['sparse', r.sparse.tally, r.sparse.events]);
  const row = (name: string, value: (tally: CostTally, events: number) => string): [string, string] => [
    name,
    columns.map(([column, tally, events]) => `${column} ${value(tally, events)}`).join(' · '),
  ];
  const per = (digits: number, count: (tally: CostTally) => number) => (tally: CostTally, events: number) => fmt(count(tally) / events, digits);
  const dollars = (part: keyof ReturnType<typeof costPerMillion>) => (tally: CostTally, events: number) => `$${fmt(costPerMillion(tally, events)[part], 2)}`;
  const p = UNIT_PRICES;
  return [
    `\nPer delivered event, and $ per 1M events at us-east-1 on-demand prices (per million: write unit $${p.dynamoDbWriteUnit}, read unit $${p.dynamoDbReadUnit},`,
    `SQS request $${p.sqsStandardRequest} standard / $${p.sqsFifoRequest} FIFO, EventBridge event $${p.eventBridgeEvent}, Lambda request $${p.lambdaInvocation}; Lambda duration and empty receives not included):`,
    table([
      row('DynamoDB calls', per(2, (t) => t.dynamoDbCalls)),
      row('DynamoDB write units', per(2, (t) => t.writeUnits)),
      row('DynamoDB read units', per(2, (t) => t.readUnits)),
      row('SQS requests, standard + FIFO', (t, e) => `${fmt(t.sqsStandardRequests / e, 2)} + ${fmt(t.sqsFifoRequests / e, 2)}`),
      row('EventBridge events', per(2, (t) => t.eventBridgeEvents)),
      row('Lambda invocations', per(2, (t) => t.invocations)),
      row('$ DynamoDB', dollars('dynamoDb')),
      row('$ SQS', dollars('sqs')),
      row('$ EventBridge', dollars('eventBridge')),
      row('$ Lambda requests', dollars('lambda')),
      row('$ per 1M events', dollars('total')),
    ]),
  ].join('\n');
}

/** Whatever happens, the script ends by itself: a run over this limit, or a hung stop, exits non-zero. */
const RUN_LIMIT_MS = 30 * 60_000;
const CLEANUP_LIMIT_MS = 30_000;

type Step = () => Promise<void> | void;
const cleanups: Step[] = [];
const lateSteps: Promise<void>[] = [];
let stopping: Promise<void> | undefined;

const runStep = (step: Step) => Promise.resolve().then(step).catch((error: unknown) => console.error('stopping:', error));

/** Registers how to stop something just started; once stopping has begun (a signal came mid-start), stops it at once. */
function atStop(step: Step): void {
  if (stopping) lateSteps.push(runStep(step));
  else cleanups.push(step);
}

/** Stops what was started, latest first, once: a second caller (a signal during a failure) waits for the same stop. */
function cleanUp(): Promise<void> {
  stopping ??= (async () => {
    const run = (async () => {
      for (const step of cleanups.reverse()) await runStep(step);
      while (lateSteps.length > 0) await lateSteps.shift();
    })();
    const limit = sleep(CLEANUP_LIMIT_MS, undefined, { ref: false }).then(() => console.error(`stopping took over ${CLEANUP_LIMIT_MS / 1000} s; exiting anyway`));
    await Promise.race([run, limit]);
  })();
  return stopping;
}

async function abort(reason: string): Promise<never> {
  // Errors that follow a stop already under way (servers going away) are its echoes, not news.
  if (!stopping) console.error(`bench failed: ${reason}`);
  await cleanUp();
  process.exit(1);
}

setTimeout(() => void abort(`the run took over ${RUN_LIMIT_MS / 60_000} minutes`), RUN_LIMIT_MS).unref();
process.once('SIGINT', () => void abort('interrupted'));
process.once('SIGTERM', () => void abort('terminated'));

main().then(
  async (code) => {
    await cleanUp();
    process.exit(code);
  },
  (error: unknown) => abort(error instanceof Error ? error.message : String(error)),
);
