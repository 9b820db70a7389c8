import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../shared/events/sources';
import { BUS_NAME, CREDENTIALS, eventData, GROUPS, groupOf, PUT_EVENTS_MAX_ENTRIES, REGION } from './bench-workload';

/**
 * The benchmark's producers, in their own process (as an LMS is outside the service): PutEvents
 * calls to the runtime's bus, driven by the parent over IPC. Each command is answered with the
 * PutEvents calls and entries it made, which the parent counts as the service's EventBridge cost.
 */
export type ProducerCommand =
  | { readonly type: 'put-all'; readonly id: number; readonly total: number; readonly concurrency: number }
  | { readonly type: 'put-paced'; readonly id: number; readonly total: number; readonly perSecond: number }
  | { readonly type: 'put-next'; readonly id: number; readonly count: number };

export type ProducerMessage =
  | { readonly type: 'done'; readonly id: number; readonly calls: number; readonly entries: number }
  | { readonly type: 'failed'; readonly id: number; readonly error: string };

export interface ProducerSettings {
  readonly eventsUrl: string;
  readonly padding: string;
  readonly omitTimestamp: boolean;
}

class Producer {
  private next = 0;
  /** Event times never repeat a millisecond, so each webhook's events have one order. */
  private lastTimestamp = 0;
  calls = 0;
  entries = 0;
  private readonly client: EventBridgeClient;

  constructor(private readonly settings: ProducerSettings) {
    this.client = new EventBridgeClient({ endpoint: settings.eventsUrl, region: REGION, credentials: CREDENTIALS, cacheMiddleware: true });
  }

  /** PutEvents with up to 10 of the next events, stamped with the time of the call. */
  async putNext(count: number): Promise<void> {
    const sentAt = Date.now();
    const entries: PutEventsRequestEntry[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.next++;
      const { accountId, eventName } = groupOf(n % GROUPS);
      this.lastTimestamp = Math.max(sentAt, this.lastTimestamp + 1);
      const detail = { accountId, ...(!this.settings.omitTimestamp && { timestamp: this.lastTimestamp }), data: eventData(n, sentAt, this.settings.padding) };
      entries.push({ EventBusName: BUS_NAME, Source: EVENT_SOURCE, DetailType: eventName, Detail: JSON.stringify(detail) });
    }
    this.calls++;
    this.entries += entries.length;
    const result = await this.client.send(new PutEventsCommand({ Entries: entries }));
    if (result.FailedEntryCount) throw new Error(`PutEvents refused ${result.FailedEntryCount} entries: ${JSON.stringify(result.Entries?.find((e) => e.ErrorCode))}`);
  }

  /** `total` events as fast as `concurrency` callers can put them. */
  async putAll(total: number, concurrency: number): Promise<void> {
    let left = total;
    const worker = async () => {
      while (left > 0) {
        const count = Math.min(PUT_EVENTS_MAX_ENTRIES, left);
        left -= count;
        await this.putNext(count);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** `total` events at `perSecond`, in calls of 10 on a fixed schedule (calls are not held back by slow answers). */
  async putPaced(total: number, perSecond: number): Promise<void> {
    const calls: Promise<void>[] = [];
    const start = performance.now();
    const interval = (PUT_EVENTS_MAX_ENTRIES / perSecond) * 1000;
    for (let call = 0, left = total; left > 0; call++) {
      const wait = start + call * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const count = Math.min(PUT_EVENTS_MAX_ENTRIES, left);
      left -= count;
      calls.push(this.putNext(count));
    }
    await Promise.all(calls);
  }
}

if (process.send) {
  const settings = JSON.parse(process.argv[2]!) as ProducerSettings;
  const producer = new Producer(settings);
  const reply = (message: ProducerMessage) => process.send!(message);
  process.on('message', (command: ProducerCommand) => {
    const { calls, entries } = producer;
    const run =
      command.type === 'put-all'
        ? producer.putAll(command.total, command.concurrency)
        : command.type === 'put-paced'
          ? producer.putPaced(command.total, command.perSecond)
          : producer.putNext(command.count);
    run.then(
      () => reply({ type: 'done', id: command.id, calls: producer.calls - calls, entries: producer.entries - entries }),
      (error: unknown) => reply({ type: 'failed', id: command.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
