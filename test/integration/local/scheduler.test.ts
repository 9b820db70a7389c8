import { setTimeout as sleep } from 'node:timers/promises';
import type { ScheduledEvent } from 'aws-lambda';
import { startScheduler } from '../../../infra/local/scheduler';
import { gate, hasSettled, region } from './aws';

const options = { functionName: 'aggregator', functionTimeoutMs: 5000, ruleName: 'batch-schedule', region, onError: () => undefined };

it('fires rate(1 second) with Scheduled Events, skips fire times during a run, and stops after the run in progress', async () => {
  const seen: ScheduledEvent[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const secondStarted = gate();
  const releaseSecond = gate();
  const scheduler = startScheduler({
    ...options,
    expression: 'rate(1 second)',
    handler: async (event) => {
      mostAtOnce = Math.max(mostAtOnce, ++running);
      seen.push(event);
      if (seen.length === 1) await sleep(1500); // outlasts the next fire time
      if (seen.length === 2) {
        secondStarted.open();
        await releaseSecond.opened;
      }
      running--;
    },
  });
  await secondStarted.opened;
  const stopping = scheduler.stop();
  expect(await hasSettled(stopping)).toBe(false);
  releaseSecond.open();
  await stopping;

  expect(seen[0]).toEqual({
    version: '0',
    id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/batch-schedule`],
    detail: {},
  });
  expect(seen[1].id).not.toBe(seen[0].id);
  expect(mostAtOnce).toBe(1);
  // The fire time one second after the first passed while it ran, and was skipped.
  expect(Date.parse(seen[1].time) - Date.parse(seen[0].time)).toBeGreaterThanOrEqual(2000);
  expect(seen).toHaveLength(2);
});

it('rejects an invalid schedule expression', () => {
  expect(() => startScheduler({ ...options, expression: 'rate(5 minute)', handler: () => undefined })).toThrow(/plural unit/);
});
