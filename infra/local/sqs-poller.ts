import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageSystemAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

/**
 * The local stand-in for a Lambda SQS event source mapping with ReportBatchItemFailures: receives
 * batches, invokes the handler with the SQSEvent Lambda would build, deletes what succeeded and
 * leaves the rest to come back after their visibility timeout (which the handler may change).
 */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void;

export interface PollerOptions {
  readonly sqsClient: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  /**
   * Messages per invocation: at most 10 for a FIFO queue, up to 10,000 for a standard one. Above 10
   * the poller receives again at once while the queue keeps returning full receives, so an
   * invocation takes what is already waiting (as Lambda's batch size above 10 does) but never waits
   * for more: unlike Lambda, no batching window, so a lone event is handed over as it arrives.
   */
  readonly batchSize: number;
  /** Invocations at once, at most. */
  readonly concurrency: number;
  /**
   * While this says the process's core is saturated, invocations beside a running one start at most
   * one a second: all invocations share one core here (in Lambda each has its own), so more of them
   * at once only split it, and each drain finds less to send. Never fewer: an invocation that waits
   * long on a slow listener holds the others back by a second at most. See `eventLoopGauge`.
   * @default never saturated
   */
  readonly saturated?: () => boolean;
  readonly handler: SqsHandler;
  /** As the function's timeout: an invocation running longer counts as failed (nothing is deleted). */
  readonly functionTimeoutMs: number;
  /** @default the queue's name */
  readonly functionName?: string;
  /** Failed invocations, invalid responses and SQS errors. @default console.error */
  readonly onError?: (error: unknown) => void;
  /** Long-poll wait; short, so that stop() is prompt. @default 1 */
  readonly waitTimeSeconds?: number;
}

export interface Poller {
  /** Stops receiving and resolves once every invocation already started has finished. */
  stop(): Promise<void>;
}

const SYSTEM_ATTRIBUTES: MessageSystemAttributeName[] = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'AWSTraceHeader',
];

/** SQS's limit per ReceiveMessage, and Lambda's per invocation of a FIFO queue. */
const MAX_RECEIVE = 10;
/** Lambda's limit per invocation of a standard queue. */
const MAX_STANDARD_BATCH = 10_000;

/** Pause after a failed receive, so a stopped or broken queue does not spin the loop. */
const RECEIVE_RETRY_MS = 1000;

export function startPoller(options: PollerOptions): Poller {
  const { sqsClient, queueUrl } = options;
  const maxBatchSize = queueUrl.endsWith('.fifo') ? MAX_RECEIVE : MAX_STANDARD_BATCH;
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > maxBatchSize) {
    throw new RangeError(`batchSize must be 1-${maxBatchSize} for this queue, not ${options.batchSize}`);
  }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, not ${options.concurrency}`);
  }
  const functionName = options.functionName ?? queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
  const onError = options.onError ?? ((error: unknown) => console.error(`[${functionName}]`, error));
  const stopping = new AbortController();
  // Handler runs, tracked apart from the workers: one that outlives its timeout is still awaited by stop().
  const running = new Set<Promise<unknown>>();

  // One receive in flight at a time, handing batches to up to `concurrency` invocations: idle
  // consumers parked in long polls would each be woken by every new message (as fauxqs does) and
  // mostly come back empty.
  const invocations = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  const freeSlot = () => new Promise<void>((resolve) => (slotFreed = resolve));
  stopping.signal.addEventListener('abort', () => slotFreed?.());

  const saturated = options.saturated ?? (() => false);
  let lastStartedAt = -Infinity;

  async function receiveLoop(): Promise<void> {
    while (!stopping.signal.aborted) {
      if (invocations.size >= options.concurrency) {
        await freeSlot();
        continue;
      }
      const held = invocations.size > 0 && saturated() ? lastStartedAt + SATURATED_START_INTERVAL_MS - performance.now() : 0;
      if (held > 0) {
        // Looked at again when an invocation ends or the hold is over, whichever comes first.
        const over = new AbortController();
        await Promise.race([freeSlot(), sleep(held, undefined, { signal: over.signal }).catch(() => undefined)]);
        over.abort();
        continue;
      }
      let messages: Message[];
      try {
        messages = await receiveBatch();
      } catch (error) {
        if (stopping.signal.aborted) return;
        onError(error);
        await sleep(RECEIVE_RETRY_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
        continue;
      }
      if (messages.length === 0) continue;
      if (stopping.signal.aborted) {
        await release(messages);
        return;
      }
      lastStartedAt = performance.now();
      const invocation = invoke(messages).finally(() => {
        invocations.delete(invocation);
        slotFreed?.();
      });
      invocations.add(invocation);
    }
  }

  /** One long poll, then, while receives come back full and the batch has room, receives that do not wait. */
  async function receiveBatch(): Promise<Message[]> {
    const messages: Message[] = [];
    let waitTimeSeconds = options.waitTimeSeconds ?? 1;
    for (;;) {
      const wanted = Math.min(MAX_RECEIVE, options.batchSize - messages.length);
      let received: Message[];
      try {
        const output = await sqsClient.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: wanted,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: SYSTEM_ATTRIBUTES,
            MessageAttributeNames: ['All'],
          }),
        );
        received = output.Messages ?? [];
      } catch (error) {
        if (messages.length === 0) throw error;
        // What was received is handed to the function; the next receive retries the queue.
        onError(error);
        return messages;
      }
      messages.push(...received);
      if (received.length < wanted || messages.length >= options.batchSize || stopping.signal.aborted) return messages;
      waitTimeSeconds = 0;
    }
  }

  async function invoke(messages: Message[]): Promise<void> {
    const records = messages.map((m) => toRecord(m, options.queueArn, options.region));
    const context = lambdaContext(functionName, options.functionTimeoutMs / 1000);
    const run = Promise.resolve().then(() => options.handler({ Records: records }, context));
    running.add(run);
    run.then(
      () => running.delete(run),
      () => running.delete(run),
    );
    let response: unknown;
    try {
      response = await withTimeout(run, options.functionTimeoutMs, functionName);
    } catch (error) {
      onError(error);
      return;
    }
    const failed = failedMessageIds(response, records);
    if (failed instanceof Error) {
      onError(failed);
      return;
    }
    await deleteMessages(records.filter((r) => !failed.has(r.messageId)));
  }

  async function deleteMessages(records: SQSRecord[]): Promise<void> {
    await inChunks(records, async (chunk) => {
      const { Failed = [] } = await sqsClient.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }),
      );
      if (Failed.length > 0) onError(new Error(`Could not delete ${Failed.length} processed messages: ${JSON.stringify(Failed)}`));
    });
  }

  /** Hands back messages received as the poller was stopping, so they need not wait out their visibility. */
  async function release(messages: Message[]): Promise<void> {
    await inChunks(messages, async (chunk) => {
      await sqsClient.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      );
    });
  }

  /** One batch call per 10 entries (SQS's limit), at once; a call that fails is reported, not thrown. */
  async function inChunks<T>(items: readonly T[], call: (chunk: T[]) => Promise<void>): Promise<void> {
    const calls: Promise<void>[] = [];
    for (let i = 0; i < items.length; i += MAX_RECEIVE) calls.push(call(items.slice(i, i + MAX_RECEIVE)).catch(onError));
    await Promise.all(calls);
  }

  const receiving = receiveLoop();
  return {
    async stop() {
      stopping.abort();
      await receiving;
      await Promise.allSettled([...invocations]);
      await Promise.allSettled([...running]);
    },
  };
}

/**
 * The message ids the response reports as failed, or an Error when Lambda would treat the whole
 * batch as failed: batchItemFailures that is not a list, or an item whose itemIdentifier is
 * missing, empty or not a message of this batch.
 */
export function failedMessageIds(response: unknown, records: readonly SQSRecord[]): Set<string> | Error {
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (typeof response !== 'object' || failures === undefined || failures === null) return new Set();
  const ids = new Set(records.map((r) => r.messageId));
  if (!Array.isArray(failures)) return new Error('Invalid response: batchItemFailures is not a list; the whole batch is retried');
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) {
      return new Error(`Invalid batchItemFailures entry ${JSON.stringify(failure)}; the whole batch is retried`);
    }
    failed.add(id);
  }
  return failed;
}

/** The record Lambda builds from a received message. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
      ...(value.BinaryValue !== undefined && { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType!,
    };
  }
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecordAttributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody!,
    ...(message.MD5OfMessageAttributes !== undefined && { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

const EVENT_LOOP_SAMPLE_MS = 100;
/** How often an invocation may start beside running ones while the core is saturated. */
const SATURATED_START_INTERVAL_MS = 1000;

/**
 * Whether the event loop was busier than `limit` (0–1) over the last sample, taken at most every
 * 100 ms. Invocations waiting on slow listeners leave the loop idle, so they are never held back.
 */
export function eventLoopGauge(limit: number): { saturated(): boolean } {
  let since = performance.eventLoopUtilization();
  let sampledAt = performance.now();
  let saturated = false;
  return {
    saturated() {
      const now = performance.now();
      if (now - sampledAt >= EVENT_LOOP_SAMPLE_MS) {
        saturated = performance.eventLoopUtilization(since).utilization > limit;
        since = performance.eventLoopUtilization();
        sampledAt = now;
      }
      return saturated;
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, functionName: string): Promise<T> {
  const timer = new AbortController();
  const timeout = sleep(ms, undefined, { signal: timer.signal }).then(() => {
    throw new Error(`${functionName} timed out after ${ms} ms; the whole batch is retried`);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    timer.abort();
    timeout.catch(() => undefined);
  }
}
