import { parseArgs } from 'node:util';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { CATALOGUE, findEvent } from '../shared/events/catalogue';
import { DEFAULTS } from '../shared/config';
import { EVENT_SOURCE } from '../shared/events/sources';

/**
 * `npm run emit -- <EVENT_NAME> --account <id> [--data '{...}'] [--count N]`: a producer, as the
 * contract describes one, putting events on the local runtime's bus (EVENTS_PORT, EVENT_BUS_NAME).
 * Without --data it sends plausible sample data for the event.
 */
const usage = 'usage: npm run emit -- <EVENT_NAME> --account <id> [--data \'{"userId":1,...}\'] [--count N]';

function sampleData(fields: readonly string[], n: number): Record<string, unknown> {
  const now = Date.now();
  const values: Record<string, unknown> = {
    userId: 4279332 + n,
    loId: 'course:7374992',
    loInstanceId: 'course:7376092_10250977',
    loType: 'course',
    enrollmentSource: 'SELF_ENROLL',
    dateEnrolled: Math.floor(now / 1000),
    dateCompleted: Math.floor(now / 1000),
    dateStarted: Math.floor(now / 1000),
    hasPassed: true,
    progressPercent: 50,
    waitlistCount: 0,
    enrollmentCount: 12 + n,
    seatLimit: 30,
    status: 'COMPLETED',
    request: { metadata: {}, data: [{ type: 'user', id: String(4279332 + n) }] },
  };
  return Object.fromEntries(fields.map((f) => [f, values[f]]));
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { account: { type: 'string' }, data: { type: 'string' }, count: { type: 'string', default: '1' } },
  });
  const eventName = positionals[0];
  const accountId = Number(values.account);
  const count = Number(values.count);
  const event = eventName ? findEvent(eventName) : undefined;
  if (!event) throw new Error(`${usage}\nevent names: ${CATALOGUE.map((e) => e.name).join(', ')}`);
  if (!Number.isInteger(accountId) || accountId < 1) throw new Error(`--account must be a positive integer\n${usage}`);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error('--count must be between 1 and 100000');
  const fixed = values.data === undefined ? undefined : (JSON.parse(values.data) as Record<string, unknown>);

  const endpoint = `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.EVENTS_PORT ?? '3001'}`;
  const client = new EventBridgeClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
  });
  const bus = process.env.EVENT_BUS_NAME ?? DEFAULTS.eventBusName;
  let sent = 0;
  let failed = 0;
  for (let start = 0; start < count; start += 10) {
    const entries: PutEventsRequestEntry[] = [];
    for (let n = start; n < Math.min(count, start + 10); n++) {
      const data = fixed ?? sampleData(event.dataFields, n);
      entries.push({ EventBusName: bus, Source: EVENT_SOURCE, DetailType: event.name, Detail: JSON.stringify({ accountId, data }) });
    }
    const result = await client.send(new PutEventsCommand({ Entries: entries }));
    result.Entries?.forEach((entry) => {
      if (entry.ErrorCode) {
        failed++;
        console.error(`refused: ${entry.ErrorCode} ${entry.ErrorMessage ?? ''}`);
      } else {
        sent++;
        if (count <= 10) console.log(`put ${event.name} for account ${accountId}: EventId ${entry.EventId}`);
      }
    });
  }
  console.log(`${sent} event(s) put on ${bus} at ${endpoint}${failed ? `, ${failed} refused` : ''}`);
  client.destroy();
  if (failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
