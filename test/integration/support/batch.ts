import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../../infra/local/table';
import type { LmsEvent } from '../../../shared/events/envelope';
import type { Webhook } from '../../../shared/webhooks/model';

/** A fresh table on the suite's DynamoDB Local, and a document client that counts the writes it sends. */
export async function freshTable(): Promise<{ db: DynamoDBDocumentClient; tableName: string; calls: { name: string }[] }> {
  const tableName = `batch-${Math.random().toString(36).slice(2, 10)}`;
  const client = new DynamoDBClient({});
  await ensureTable(client, tableName);
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const calls: { name: string }[] = [];
  db.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ name: String(context.commandName) });
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { db, tableName, calls };
}

export const WRITE_COMMANDS = ['PutCommand', 'UpdateCommand', 'DeleteCommand', 'BatchWriteCommand', 'TransactWriteCommand'];

let webhookSeq = 0;
export function webhookFixture(overrides: Partial<Webhook> = {}): Webhook {
  webhookSeq++;
  return {
    id: `wh_${String(webhookSeq).padStart(26, '0')}`,
    accountId: 1010,
    name: `hook ${webhookSeq}`,
    targetUrl: 'https://listener.example.com/hook',
    authType: 'NONE',
    events: ['COURSE_ENROLLMENT_BATCH', 'LEARNER_PROGRESS'],
    status: 'ACTIVE',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

export function batchEvent(n: number, overrides: Partial<LmsEvent> = {}): LmsEvent {
  const timestamp = 1_767_225_600_000 + n * 1000;
  return {
    eventId: `evt-${n}`,
    eventName: 'COURSE_ENROLLMENT_BATCH',
    timestamp,
    eventInfo: `${timestamp}-${String(n).padStart(6, '0')}-0-0`,
    data: { userId: 4279332 + n, loId: 'course:7374992', loInstanceId: 'course:7374992_10250977', loType: 'course', enrollmentSource: 'ADMIN_ENROLL' },
    ...overrides,
  };
}
