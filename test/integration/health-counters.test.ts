import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HealthCounters, type AttemptMark } from '../../shared/deliveries/health';
import { newId } from '../../shared/ids';
import { freshTable } from './support/table';

/**
 * The health counters on DynamoDB Local, counted a flush at a time: one UpdateItem for a flush's
 * attempts of one hour, the slot started afresh when it still holds the hour a day before, and two
 * drains starting the same new hour at once both counted.
 */
let db: DynamoDBDocumentClient;
let tableName: string;

beforeAll(async () => {
  ({ db, tableName } = await freshTable());
});

const HOUR = 3600_000;
/** The start of an hour. */
const hourStart = Date.UTC(2026, 10, 30, 10);

/** The counters over a client that reports each UpdateItem (and may act just before it is sent). */
function counters(beforeUpdate: (input: UpdateCommand['input']) => Promise<void> = async () => undefined) {
  const updates: UpdateCommand['input'][] = [];
  const watched = {
    send: async (command: unknown) => {
      if (command instanceof UpdateCommand) {
        updates.push(command.input);
        await beforeUpdate(command.input);
      }
      return db.send(command as UpdateCommand);
    },
  } as DynamoDBDocumentClient;
  return { health: new HealthCounters(watched, tableName), updates };
}

const marks = (ok: number, failed: number, at: number): AttemptMark[] => [
  ...Array.from({ length: ok }, (_, i) => ({ ok: true, at: new Date(at + i * 1000) })),
  ...Array.from({ length: failed }, (_, i) => ({ ok: false, at: new Date(at + i * 1000) })),
];

it("adds a flush's successes and failures of one hour in one UpdateItem, with the last success and failure", async () => {
  const webhookId = newId('wh');
  const { health, updates } = counters();
  // The slot is new: its first count starts it.
  await health.recordAttempts(webhookId, marks(3, 1, hourStart));
  updates.splice(0);

  await health.recordAttempts(webhookId, marks(40, 2, hourStart + 60_000));
  expect(updates).toHaveLength(1);
  expect(await health.read(webhookId, new Date(hourStart + 30 * 60_000))).toEqual({
    attempts24h: 46,
    succeeded24h: 43,
    lastSuccessAt: new Date(hourStart + 60_000 + 39_000).toISOString(),
    lastFailureAt: new Date(hourStart + 60_000 + 1000).toISOString(),
  });
  // Nothing to count, nothing written.
  await health.recordAttempts(webhookId, []);
  expect(updates).toHaveLength(1);
});

it('counts a flush that spans an hour boundary in both hours', async () => {
  const webhookId = newId('wh');
  const { health, updates } = counters();
  await health.recordAttempts(webhookId, [...marks(2, 0, hourStart - 5000), ...marks(3, 1, hourStart)]);
  expect(new Set(updates.map((u) => Object.values(u.ExpressionAttributeNames ?? {}).find((n) => n.startsWith('ok'))))).toEqual(new Set(['ok9', 'ok10']));
  expect(await health.read(webhookId, new Date(hourStart))).toMatchObject({ attempts24h: 6, succeeded24h: 5 });
});

it('starts a slot afresh when it still holds the same hour of the day before', async () => {
  const webhookId = newId('wh');
  const { health, updates } = counters();
  await health.recordAttempts(webhookId, marks(7, 3, hourStart - 24 * HOUR));
  updates.splice(0);

  await health.recordAttempts(webhookId, marks(2, 1, hourStart));
  // The count for the hour is refused (the slot holds yesterday's), then the slot is reset with it.
  expect(updates).toHaveLength(2);
  expect(await health.read(webhookId, new Date(hourStart))).toMatchObject({ attempts24h: 3, succeeded24h: 2 });
});

it('counts both of two drains that start the same new hour at once', async () => {
  const webhookId = newId('wh');
  await counters().health.recordAttempts(webhookId, marks(5, 5, hourStart - 24 * HOUR));

  // Just before this drain resets the slot, another one counts the same new hour (and resets it first).
  const other = counters().health;
  let raced = false;
  const { health, updates } = counters(async (input) => {
    if (raced || !input.ConditionExpression?.includes('attribute_not_exists')) return;
    raced = true;
    await other.recordAttempts(webhookId, marks(4, 0, hourStart + 1000));
  });
  await health.recordAttempts(webhookId, marks(3, 2, hourStart));

  // Refused for the old hour, refused to reset (the other drain did), then added.
  expect(updates).toHaveLength(3);
  expect(await health.read(webhookId, new Date(hourStart + HOUR / 2))).toMatchObject({ attempts24h: 9, succeeded24h: 7 });
});
