import { Client } from '@smithy/core/client';

/**
 * What the service's AWS calls would cost, counted on the local runtime: every AWS SDK call of this
 * process (handlers, local event source pollers, the bus, producers) passes through one hook on the
 * SDK's base client. The local bus queues each PutEvents request's events with one
 * SendMessageBatch; EventBridge's SQS target sends one message per event, so that is what is counted.
 * DynamoDB calls are asked for `ReturnConsumedCapacity`, which DynamoDB Local
 * reports as AWS bills it; SQS and EventBridge are priced per request as AWS bills them.
 */

/** us-east-1 on-demand list prices, in $ per million units (standard table class; beyond the free tiers). */
export const UNIT_PRICES = {
  dynamoDbWriteUnit: 0.625,
  dynamoDbReadUnit: 0.125,
  sqsStandardRequest: 0.4,
  sqsFifoRequest: 0.5,
  eventBridgeEvent: 1.0,
  lambdaInvocation: 0.2,
} as const;

const DYNAMODB_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** lib-dynamodb's commands by the DynamoDB operation they call. */
const DOCUMENT_CLIENT_OPERATIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};
/** Calls the bench itself makes to watch the queues; not part of the service's cost. */
const OBSERVATION_ONLY = new Set(['ListQueues', 'GetQueueAttributes']);
/** SQS's billing chunk: every 64 KB of a request's payload is one request. */
const SQS_CHUNK_BYTES = 64 * 1024;

export interface CostTally {
  /** Calls by `<service> <operation>[ <detail>]`. */
  readonly calls: Map<string, number>;
  dynamoDbCalls: number;
  readUnits: number;
  writeUnits: number;
  sqsStandardRequests: number;
  sqsFifoRequests: number;
  eventBridgeEvents: number;
  /** Non-empty receives of the local event source pollers: one Lambda invocation each. */
  invocations: number;
  /** Receives that returned nothing: in AWS, Lambda's pollers make these whatever the traffic. */
  emptyReceives: number;
}

const emptyTally = (): CostTally => ({
  calls: new Map(),
  dynamoDbCalls: 0,
  readUnits: 0,
  writeUnits: 0,
  sqsStandardRequests: 0,
  sqsFifoRequests: 0,
  eventBridgeEvents: 0,
  invocations: 0,
  emptyReceives: 0,
});

type Capacity = { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
const capacityUnits = (capacity: Capacity) => (Array.isArray(capacity) ? capacity : capacity ? [capacity] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);

/** Billed SQS requests of one call: one per 64 KB of message bodies (at least one). */
function sqsRequests(input: Record<string, unknown>): number {
  const bodies = Array.isArray(input.Entries) ? (input.Entries as { MessageBody?: string }[]).map((e) => e.MessageBody ?? '') : [String(input.MessageBody ?? '')];
  const bytes = bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0);
  return Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
}

/**
 * Installs the hook (once per process) and returns a counter. `label` names a DynamoDB call's
 * items so that, say, routing reads are told apart from delivery reads.
 */
export function countAwsCalls(label: (input: Record<string, unknown>) => string): {
  reset(): void;
  snapshot(): CostTally;
  /** PutEvents calls made by another process (the bench's producers). */
  addPutEvents(calls: number, entries: number): void;
} {
  let tally = emptyTally();
  const send = Client.prototype.send;
  type Sendable = { input: Record<string, unknown>; constructor: { name: string } };
  Client.prototype.send = function (this: { config: { serviceId?: string } }, command: Sendable, ...rest: unknown[]) {
    const service = this.config.serviceId ?? 'unknown';
    const name = command.constructor.name.replace(/Command$/, '');
    const operation = DOCUMENT_CLIENT_OPERATIONS[name] ?? name;
    const input = command.input;
    if (service === 'DynamoDB' && (DYNAMODB_READS.has(operation) || DYNAMODB_WRITES.has(operation))) input.ReturnConsumedCapacity ??= 'TOTAL';
    const pending = (send as (...args: unknown[]) => Promise<Record<string, unknown>>).call(this, command, ...rest);
    if (typeof pending?.then !== 'function' || OBSERVATION_ONLY.has(operation)) return pending;
    return pending.then((output) => {
      record(tally, service, operation, input, output, label);
      return output;
    });
  } as typeof send;
  return {
    reset: () => void (tally = emptyTally()),
    addPutEvents: (calls, entries) => {
      tally.eventBridgeEvents += entries;
      tally.calls.set('EventBridge PutEvents', (tally.calls.get('EventBridge PutEvents') ?? 0) + calls);
    },
    snapshot: () => ({ ...tally, calls: new Map(tally.calls) }),
  };
}

function record(tally: CostTally, service: string, operation: string, input: Record<string, unknown>, output: Record<string, unknown>, label: (input: Record<string, unknown>) => string): void {
  let name = `${service} ${operation}`;
  if (service === 'DynamoDB') {
    name += ` ${label(input)}`;
    tally.dynamoDbCalls++;
    const units = capacityUnits(output.ConsumedCapacity as Capacity);
    if (DYNAMODB_READS.has(operation)) tally.readUnits += units;
    else tally.writeUnits += units;
  } else if (service === 'SQS') {
    const fifo = String(input.QueueUrl ?? '').endsWith('.fifo');
    name += fifo ? ' (FIFO)' : ' (standard)';
    if (operation === 'ReceiveMessage') {
      if (Array.isArray(output.Messages) && output.Messages.length > 0) tally.invocations++;
      else {
        tally.emptyReceives++;
        name += ' empty';
      }
    }
    if (operation === 'SendMessageBatch' && !fifo) {
      // The service sends only doorbells (FIFO): a batch to a standard queue is the local bus
      // standing in for EventBridge's SQS target, which sends and is billed one message per event.
      const events = Array.isArray(input.Entries) ? input.Entries.length : 0;
      tally.sqsStandardRequests += events;
      const target = 'SQS SendMessage (standard, EventBridge target)';
      tally.calls.set(target, (tally.calls.get(target) ?? 0) + events);
      return;
    }
    if (!name.endsWith(' empty')) {
      const requests = sqsRequests(input);
      if (fifo) tally.sqsFifoRequests += requests;
      else tally.sqsStandardRequests += requests;
    }
  } else if (service === 'EventBridge' && operation === 'PutEvents') {
    tally.eventBridgeEvents += Array.isArray(input.Entries) ? input.Entries.length : 0;
  }
  tally.calls.set(name, (tally.calls.get(name) ?? 0) + 1);
}

export interface CostPerMillion {
  readonly dynamoDb: number;
  readonly sqs: number;
  readonly eventBridge: number;
  readonly lambda: number;
  readonly total: number;
}

/** $ per 1M events, given the tally of `events` events. */
export function costPerMillion(tally: CostTally, events: number): CostPerMillion {
  const per = (count: number, price: number) => (count / events) * price;
  const dynamoDb = per(tally.writeUnits, UNIT_PRICES.dynamoDbWriteUnit) + per(tally.readUnits, UNIT_PRICES.dynamoDbReadUnit);
  const sqs = per(tally.sqsStandardRequests, UNIT_PRICES.sqsStandardRequest) + per(tally.sqsFifoRequests, UNIT_PRICES.sqsFifoRequest);
  const eventBridge = per(tally.eventBridgeEvents, UNIT_PRICES.eventBridgeEvent);
  const lambda = per(tally.invocations, UNIT_PRICES.lambdaInvocation);
  return { dynamoDb, sqs, eventBridge, lambda, total: dynamoDb + sqs + eventBridge + lambda };
}
