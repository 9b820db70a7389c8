import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { AttemptMark } from '../../shared/deliveries/health';
import type { Attempt, Delivery } from '../../shared/deliveries/model';
import { DeliveryStore, type AttemptOutcomeChange, type UnsentStatus } from '../../shared/deliveries/store';
import { OutcomeRecorder, type OutcomeRecorderDependencies } from '../../shared/dispatch/outcome-recorder';

/**
 * The drain's recorder: successes written 25 at a time and before any other write, health counted
 * once per flush, replay copies counted once written; and, over a mocked client, the real store's
 * batch write retrying what DynamoDB left unprocessed.
 */
const webhookId = 'wh_1';
const start = Date.parse('2026-11-30T10:00:00.000Z');

function delivery(n: number, overrides: Partial<Delivery> = {}): Delivery {
  return {
    id: `msg_${String(n).padStart(3, '0')}`,
    webhookId,
    accountId: 1010,
    kind: 'realtime',
    status: 'PENDING',
    events: [{ eventId: `e${n}`, eventName: 'COURSE_COMPLETED', timestamp: start, eventInfo: '', data: {} }],
    attemptCount: 0,
    attempts: [],
    firstArrivedAt: start,
    createdAt: new Date(start).toISOString(),
    updatedAt: new Date(start).toISOString(),
    redeliveries: 0,
    ...overrides,
  };
}

const attempt = (n: number, statusCode = 200): Attempt => ({ number: 1, at: new Date(start + n * 1000).toISOString(), durationMs: 2, statusCode });

/** Every write the recorder makes, in order. */
type Write =
  | { readonly put: string[] }
  | { readonly conditional: string; readonly status: string }
  | { readonly unsent: string; readonly status: UnsentStatus }
  | { readonly health: { ok: number; failed: number } }
  | { readonly replay: string; readonly outcome: 'sent' | 'failed' };

function recorder(overrides: Partial<OutcomeRecorderDependencies['deliveries']> = {}) {
  const writes: Write[] = [];
  const deps: OutcomeRecorderDependencies = {
    deliveries: {
      putAll: async (deliveries) => void writes.push({ put: deliveries.map((d) => `${d.id}:${d.status}:${d.attempts.length}`) }),
      recordAttempt: async (d: Delivery, a: Attempt, next: AttemptOutcomeChange) => {
        writes.push({ conditional: d.id, status: next.status });
        return { ...d, status: next.status, attempts: [...d.attempts, a] };
      },
      finishUnsent: async (d, status) => void writes.push({ unsent: d.id, status }),
      ...overrides,
    },
    health: {
      recordAttempts: async (_id: string, marks: readonly AttemptMark[]) =>
        void writes.push({ health: { ok: marks.filter((m) => m.ok).length, failed: marks.filter((m) => !m.ok).length } }),
    },
    replays: { recordOutcome: async (d, outcome) => void writes.push({ replay: (d as Delivery).id, outcome }) },
  };
  return { outcomes: new OutcomeRecorder(deps, webhookId), writes };
}

const succeed = (outcomes: OutcomeRecorder, n: number, d = delivery(n)) => outcomes.recordAttempt(d, attempt(n), { status: 'SUCCEEDED' });

describe('OutcomeRecorder', () => {
  it('writes successes 25 at a time, each SUCCEEDED with its attempt, and counts them once per flush', async () => {
    const { outcomes, writes } = recorder();
    for (let n = 1; n <= 24; n++) await succeed(outcomes, n);
    expect(writes).toEqual([]);

    await succeed(outcomes, 25);
    expect(writes).toEqual([{ put: Array.from({ length: 25 }, (_, i) => `${delivery(i + 1).id}:SUCCEEDED:1`) }, { health: { ok: 25, failed: 0 } }]);

    await succeed(outcomes, 26);
    await outcomes.flush();
    expect(writes.slice(2)).toEqual([{ put: [`${delivery(26).id}:SUCCEEDED:1`] }, { health: { ok: 1, failed: 0 } }]);
    // Nothing left: a flush with nothing buffered writes nothing.
    await outcomes.flush();
    expect(writes).toHaveLength(4);
  });

  it('returns a success as it will be written: status, attempt appended, the state-only fields dropped', async () => {
    const { outcomes } = recorder();
    const retried = delivery(1, { attemptCount: 1, attempts: [attempt(0, 500)], nextAttemptAt: new Date(start).toISOString() });
    const recorded = await outcomes.recordAttempt(retried, { ...attempt(1), number: 2 }, { status: 'SUCCEEDED' });
    expect(recorded).toMatchObject({ status: 'SUCCEEDED', attemptCount: 2, updatedAt: attempt(1).at, attempts: [attempt(0, 500), { ...attempt(1), number: 2 }] });
    expect(recorded.nextAttemptAt).toBeUndefined();
  });

  it('writes the buffered successes before a retry, a give-up or an unsent delivery, and counts the failures at the next flush', async () => {
    const { outcomes, writes } = recorder();
    await succeed(outcomes, 1);
    await succeed(outcomes, 2);
    await outcomes.recordAttempt(delivery(3), attempt(3, 500), { status: 'PENDING', nextAttemptAt: new Date(start + 60_000).toISOString() });
    expect(writes).toEqual([{ put: [`${delivery(1).id}:SUCCEEDED:1`, `${delivery(2).id}:SUCCEEDED:1`] }, { health: { ok: 2, failed: 0 } }, { conditional: delivery(3).id, status: 'PENDING' }]);

    writes.splice(0);
    await succeed(outcomes, 4);
    await outcomes.recordAttempt(delivery(5), attempt(5, 410), { status: 'FAILED', statusReason: 'gone' });
    expect(writes).toEqual([{ put: [`${delivery(4).id}:SUCCEEDED:1`] }, { health: { ok: 1, failed: 1 } }, { conditional: delivery(5).id, status: 'FAILED' }]);

    writes.splice(0);
    await succeed(outcomes, 6);
    await outcomes.finishUnsent(delivery(7), 'HELD', 'webhook is DISABLED');
    await outcomes.flush();
    expect(writes).toEqual([{ put: [`${delivery(6).id}:SUCCEEDED:1`] }, { health: { ok: 1, failed: 1 } }, { unsent: delivery(7).id, status: 'HELD' }]);
  });

  it("counts a replay's copies once their records are written, and a copy given up on at once", async () => {
    const { outcomes, writes } = recorder();
    const replayOf = { deliveryId: 'msg_orig', replayId: 'rpl_1' };
    await succeed(outcomes, 1, delivery(1, { replayOf }));
    await succeed(outcomes, 2);
    expect(writes).toEqual([]);
    await outcomes.flush();
    expect(writes).toEqual([{ put: [`${delivery(1).id}:SUCCEEDED:1`, `${delivery(2).id}:SUCCEEDED:1`] }, { replay: delivery(1).id, outcome: 'sent' }, { health: { ok: 2, failed: 0 } }]);

    writes.splice(0);
    await outcomes.recordAttempt(delivery(3, { replayOf }), attempt(3, 500), { status: 'FAILED', statusReason: 'gave up' });
    expect(writes).toEqual([{ conditional: delivery(3).id, status: 'FAILED' }, { replay: delivery(3).id, outcome: 'failed' }]);
  });

  it('lets a failed write propagate, keeping the records for the next flush', async () => {
    let failing = true;
    const written: string[][] = [];
    const { outcomes, writes } = recorder({
      putAll: async (deliveries) => {
        if (failing) throw new Error('DynamoDB is unavailable');
        written.push(deliveries.map((d) => d.id));
      },
    });
    await succeed(outcomes, 1);
    await expect(outcomes.flush()).rejects.toThrow('DynamoDB is unavailable');
    // Nor does a failure's write go ahead of the successes that could not be written.
    await expect(outcomes.recordAttempt(delivery(2), attempt(2, 500), { status: 'PENDING' })).rejects.toThrow('DynamoDB is unavailable');
    expect(writes).toEqual([]);

    failing = false;
    await outcomes.flush();
    expect(written).toEqual([[delivery(1).id]]);
    expect(writes).toEqual([{ health: { ok: 1, failed: 0 } }]);
  });
});

describe('DeliveryStore.putAll', () => {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const dbMock = mockClient(db);
  const store = new DeliveryStore(db, 'table', 30, () => new Date(start));
  const keysOf = (call: number) => dbMock.commandCalls(BatchWriteCommand)[call]!.args[0].input.RequestItems!.table!.map((r) => r.PutRequest!.Item!.sk);
  beforeEach(() => dbMock.reset());

  it('puts whole items, 25 per call, and sends again what DynamoDB left unprocessed until all is written', async () => {
    const deliveries = Array.from({ length: 27 }, (_, i) => delivery(i + 1, { status: 'SUCCEEDED' }));
    const unprocessed = (...ns: number[]) => ({ UnprocessedItems: { table: ns.map((n) => ({ PutRequest: { Item: store.toItem(deliveries[n - 1]!) } })) } });
    dbMock.on(BatchWriteCommand).resolvesOnce(unprocessed(3, 7)).resolvesOnce(unprocessed(7)).resolves({});

    await store.putAll(deliveries);

    expect(dbMock.commandCalls(BatchWriteCommand)).toHaveLength(4);
    expect(keysOf(0)).toEqual(deliveries.slice(0, 25).map((d) => `DELIVERY#${d.id}`));
    expect(keysOf(1)).toEqual([`DELIVERY#${delivery(3).id}`, `DELIVERY#${delivery(7).id}`]);
    expect(keysOf(2)).toEqual([`DELIVERY#${delivery(7).id}`]);
    expect(keysOf(3)).toEqual(deliveries.slice(25).map((d) => `DELIVERY#${d.id}`));
    // Unconditional puts of the whole item, lifetime counted afresh.
    const [first] = dbMock.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!.table!;
    expect(first!.PutRequest!.Item).toMatchObject({ pk: `WEBHOOK#${webhookId}`, status: 'SUCCEEDED', expiresAt: start / 1000 + 30 * 24 * 3600, events: expect.any(String) });
  });

  it('lets an error propagate', async () => {
    dbMock.on(BatchWriteCommand).rejects(new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: {} }));
    await expect(store.putAll([delivery(1, { status: 'SUCCEEDED' })])).rejects.toThrow(ProvisionedThroughputExceededException);
  });
});
