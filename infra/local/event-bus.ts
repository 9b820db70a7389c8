import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { isServiceSource } from '../../shared/events/sources';
import { type EventPattern, matchesEventPattern, validateEventPattern } from './event-pattern';

/**
 * An EventBridge stand-in: PutEvents over AWS JSON 1.1, so an unchanged EventBridgeClient (its
 * endpoint set here, e.g. by AWS_ENDPOINT_URL_EVENTBRIDGE) publishes to it. Accepted events
 * become EventBridge envelopes and go, like a rule with an SQS target, to each matching rule's
 * queue. One deliberate difference: AWS silently accepts events for a bus that does not exist;
 * here every bus but the configured one is a per-entry InvalidArgument, so a producer's mistake
 * shows. As the bus policy in AWS, it refuses the service's own Sources (`lms.webhooks*`) to every
 * request over the endpoint: the service's functions put them through `serviceTransport`.
 */
/** A rule's target: an SQS queue, or a function invoked asynchronously (as EventBridge invokes Lambda). */
export type EventRule = { readonly pattern: EventPattern } & (
  | { readonly queueUrl: string }
  | { readonly invoke: (event: EventBridgeEvent<string, unknown>) => void }
);

export interface EventBusOptions {
  readonly host: string;
  /** 0 picks a free port; read the result from `endpoint`. */
  readonly port: number;
  readonly busName: string;
  readonly rules: readonly EventRule[];
  readonly sqsClient: SQSClient;
  readonly region: string;
}

export const LOCAL_ACCOUNT_ID = '000000000000';

/** AWS's limit on the summed size of a request's entries (see entrySize). */
const MAX_ENTRIES_BYTES = 256 * 1024;
const MAX_ENTRIES = 10;
/** Request bodies are JSON with escaped strings, so allow well beyond the entries' own limit. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface PutEventsRequestEntry {
  Time?: number | string;
  Source?: string;
  Resources?: string[];
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  TraceHeader?: string;
}

type ResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** Who puts: the service's own functions may put its Sources, producers may not. */
interface Caller {
  readonly mayPutServiceSources: boolean;
}
const PRODUCER: Caller = { mayPutServiceSources: false };
const SERVICE: Caller = { mayPutServiceSources: true };

/** The parts of an SDK HTTP request and response the in-process transport reads and answers. */
interface TransportRequest {
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}
interface TransportResponse {
  readonly response: { statusCode: number; headers: Record<string, string>; body: Uint8Array };
}

class RequestError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class LocalEventBus {
  private readonly server: Server;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly busArn: string;

  constructor(private readonly options: EventBusOptions) {
    options.rules.forEach((rule) => validateEventPattern(rule.pattern));
    this.busArn = `arn:aws:events:${options.region}:${LOCAL_ACCOUNT_ID}:event-bus/${options.busName}`;
    this.server = createServer((req, res) => void this.track(this.handle(req, res)));
  }

  /**
   * The request handler of the service's own EventBridge client (see useEventBridgeTransport): its
   * requests reach this bus in-process and may put the service's Sources, as in AWS the bus policy
   * lets the service's function roles alone put them.
   */
  readonly serviceTransport = {
    handle: async (request: TransportRequest): Promise<TransportResponse> => {
      const target = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1];
      const { status, body } = await this.track(this.respond(() => this.operation(target, String(request.body ?? ''), SERVICE)));
      const text = JSON.stringify(body);
      return { response: { statusCode: status, headers: responseHeaders(text), body: Buffer.from(text, 'utf8') } };
    },
    updateHttpClientConfig: (): void => undefined,
    httpHandlerConfigs: () => ({}),
  };

  /** The URL to give EventBridge clients; valid once started. */
  get endpoint(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://${this.options.host}:${port}`;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.endpoint;
  }

  /** Stops accepting requests and resolves once those in progress have been answered. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.inFlight]);
    this.server.closeAllConnections();
    await closed;
  }

  /** Keeps a request in progress until it is answered, so stop() waits for it. */
  private track<T>(answering: Promise<T>): Promise<T> {
    this.inFlight.add(answering);
    return answering.finally(() => this.inFlight.delete(answering));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { status, body } = await this.respond(async () => {
      if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
        throw new RequestError('UnknownOperationException', 'Requests are POST / with X-Amz-Target: AWSEvents.PutEvents', 404);
      }
      return this.operation(req.headers['x-amz-target'], await readBody(req), PRODUCER);
    });
    const text = JSON.stringify(body);
    res.writeHead(status, responseHeaders(text));
    res.end(text);
  }

  /** Runs an operation, answering its failure as AWS JSON 1.1 does. */
  private async respond(run: () => Promise<object>): Promise<{ status: number; body: object }> {
    try {
      return { status: 200, body: await run() };
    } catch (error) {
      const known = error instanceof RequestError ? error : new RequestError('InternalFailure', String(error), 500);
      return { status: known.status, body: { __type: known.type, message: known.message } };
    }
  }

  private async operation(target: unknown, body: string, caller: Caller): Promise<object> {
    if (target !== 'AWSEvents.PutEvents') {
      throw new RequestError('UnknownOperationException', `Unknown operation ${String(target ?? '(no X-Amz-Target)')}`);
    }
    return this.putEvents(parseRequest(body), caller);
  }

  private async putEvents(entries: PutEventsRequestEntry[], caller: Caller): Promise<{ FailedEntryCount: number; Entries: ResultEntry[] }> {
    if (entries.length > MAX_ENTRIES) {
      throw new RequestError(
        'ValidationException',
        "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
    }
    if (entries.length === 0) {
      throw new RequestError(
        'ValidationException',
        "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    if (entries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_ENTRIES_BYTES) {
      throw new RequestError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const results: ResultEntry[] = [];
    const accepted: AcceptedEvent[] = [];
    entries.forEach((entry, index) => {
      const rejection = this.rejection(entry, caller);
      const event = rejection ? undefined : this.toEvent(entry);
      if (event) accepted.push({ index, entry, event });
      results.push(rejection ?? { EventId: event!.id });
    });
    const failed = (index: number) => 'ErrorCode' in results[index]!;
    for (const rule of this.options.rules) {
      const matching = accepted.filter(({ index, event }) => !failed(index) && matchesEventPattern(rule.pattern, event));
      if (matching.length === 0) continue;
      if ('invoke' in rule) matching.forEach(({ event }) => rule.invoke(event));
      else for (const [index, failure] of await this.sendToQueue(rule.queueUrl, matching)) results[index] = failure;
    }
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  private rejection(entry: PutEventsRequestEntry, caller: Caller): ResultEntry | undefined {
    const bus = entry.EventBusName ?? 'default';
    if (bus !== this.options.busName && bus !== this.busArn) {
      return invalid(
        'EventBusName',
        `event bus ${bus} does not exist here; put events on ${this.options.busName}${entry.EventBusName ? '' : ' (name it in EventBusName)'}`,
      );
    }
    if (!entry.Source) return invalid('Source', 'Source is a required argument.');
    if (isServiceSource(entry.Source) && !caller.mayPutServiceSources) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'You do not have permissions to publish events with this source onto this event bus.' };
    }
    if (!entry.DetailType) return invalid('DetailType', 'DetailType is a required argument.');
    if (!entry.Detail) return invalid('Detail', 'Detail is a required argument.');
    if (!isJsonObject(entry.Detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    if (entry.Time !== undefined && !eventTime(entry.Time)) {
      return invalid('Time', 'Time must be an RFC 3339 timestamp, between the years 0000 and 9999.');
    }
    return undefined;
  }

  /** Builds the event as EventBridge delivers it to its targets. */
  private toEvent(entry: PutEventsRequestEntry): EventBridgeEvent<string, unknown> {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType!,
      source: entry.Source!,
      account: LOCAL_ACCOUNT_ID,
      time: isoSeconds(entry.Time === undefined ? new Date() : eventTime(entry.Time)!),
      region: this.options.region,
      resources: entry.Resources ?? [],
      detail: JSON.parse(entry.Detail!),
    };
  }

  /**
   * Queues a request's matching events with one SendMessageBatch, in the order they were given
   * (a request holds at most 10 entries of 256 KB in all, within one batch's limits): one journal
   * write and one acknowledgement per request rather than per event. EventBridge's SQS target
   * sends (and SQS bills) one message per event; scripts/bench-aws-cost.ts counts it so.
   * Answers the failures by entry index: AWS would retry the target; here the producer is told,
   * so the event is not lost.
   */
  private async sendToQueue(queueUrl: string, events: readonly AcceptedEvent[]): Promise<Map<number, ResultEntry>> {
    const failures = new Map<number, ResultEntry>();
    const failure = (reason: string | undefined): ResultEntry => ({ ErrorCode: 'InternalFailure', ErrorMessage: `The event could not be queued: ${reason}` });
    try {
      const { Failed = [] } = await this.options.sqsClient.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: events.map(({ index, entry, event }) => ({ Id: String(index), MessageBody: withDetailAsSent(event, entry.Detail!) })),
        }),
      );
      for (const { Id, Message } of Failed) failures.set(Number(Id), failure(Message));
    } catch (error) {
      for (const { index } of events) failures.set(index, failure((error as Error).message));
    }
    return failures;
  }
}

interface AcceptedEvent {
  readonly index: number;
  readonly entry: PutEventsRequestEntry;
  readonly event: EventBridgeEvent<string, unknown>;
}

function invalid(parameter: string, reason: string): ResultEntry {
  return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}` };
}

/**
 * The event's JSON with the producer's Detail text as it was sent, as EventBridge passes it on:
 * parsing and printing it again would change numbers a double cannot hold (beyond 2^53).
 */
function withDetailAsSent(event: EventBridgeEvent<string, unknown>, detail: string): string {
  const { detail: _parsed, ...envelope } = event;
  return `${JSON.stringify(envelope).slice(0, -1)},"detail":${detail}}`;
}

/** AWS's entry size: 14 bytes for a Time, plus the UTF-8 bytes of Source, DetailType, Detail and each Resource. */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

const EARLIEST_TIME_MS = Date.parse('0000-01-01T00:00:00Z');
const LATEST_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * JSON 1.1 sends timestamps as epoch seconds; accept an ISO string as well. Undefined for a time
 * an event's RFC 3339 `time` cannot say (beyond years 0000-9999, or beyond any date).
 */
function eventTime(time: number | string): Date | undefined {
  const ms = typeof time === 'number' ? time * 1000 : Date.parse(time);
  return ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS ? new Date(ms) : undefined;
}

/** An event's `time`: ISO 8601 in UTC without milliseconds, as EventBridge writes it. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const STRING_FIELDS = ['Source', 'DetailType', 'Detail', 'EventBusName', 'TraceHeader'] as const;

/** Checks the request's shape as AWS's deserializer would: wrong types fail the whole request. */
function parseRequest(body: string): PutEventsRequestEntry[] {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    throw new RequestError('SerializationException', 'The request body is not valid JSON');
  }
  const entries = (request as { Entries?: unknown } | null)?.Entries;
  if (entries === undefined || entries === null) {
    throw new RequestError(
      'ValidationException',
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!Array.isArray(entries)) throw new RequestError('SerializationException', 'Entries must be a list');
  for (const entry of entries) {
    const wrong = wrongField(entry);
    if (wrong) throw new RequestError('SerializationException', `Invalid value in Entries: ${wrong}`);
  }
  // Nulls mean absent, as in AWS's JSON protocols.
  return entries.map((entry: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== null)),
  ) as PutEventsRequestEntry[];
}

function wrongField(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'an entry is not an object';
  const fields = entry as Record<string, unknown>;
  const present = (name: string) => fields[name] !== undefined && fields[name] !== null;
  const notString = STRING_FIELDS.find((name) => present(name) && typeof fields[name] !== 'string');
  if (notString) return notString;
  const { Time, Resources } = fields;
  if (present('Time') && typeof Time !== 'number' && (typeof Time !== 'string' || Number.isNaN(Date.parse(Time)))) return 'Time';
  if (present('Resources') && !(Array.isArray(Resources) && Resources.every((r) => typeof r === 'string'))) return 'Resources';
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RequestError('ValidationException', `The request body is over ${MAX_BODY_BYTES} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function responseHeaders(text: string): Record<string, string> {
  return { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-requestid': randomUUID() };
}
