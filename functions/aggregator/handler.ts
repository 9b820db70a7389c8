import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { flushDueWebhooks, type FlushReport, type ScheduledFlush } from '../../shared/batch/aggregator';
import { ContinuationEventSchema } from '../../shared/batch/continuation';
import { aggregator } from '../../shared/container';
import { logger } from '../../shared/observability/logger';
import { lambdaHandler } from '../../shared/observability/middleware';

/** EventBridge's scheduled event (or the local scheduler's): only its time matters. */
const ScheduledEventSchema = z.looseObject({ time: z.iso.datetime({ offset: true }).optional() });

function scheduledFlush(event: unknown): ScheduledFlush {
  const continuation = ContinuationEventSchema.safeParse(event);
  if (continuation.success) return continuation.data.detail;
  const time = ScheduledEventSchema.parse(event).time;
  return { firedAt: time === undefined ? Date.now() : Date.parse(time), generation: 0 };
}

/** The batch schedule's target (and its continuation runs): flushes every webhook's pending batch events. */
async function flush(event: unknown, context: Context): Promise<FlushReport> {
  const scheduled = scheduledFlush(event);
  const report = await flushDueWebhooks(aggregator(), { ...scheduled, runId: randomUUID(), remainingMs: context.getRemainingTimeInMillis() });
  if (report.dueWebhooks > 0) logger.info('batch flush', { ...report, generation: scheduled.generation });
  return report;
}

export const handler = lambdaHandler(flush);
