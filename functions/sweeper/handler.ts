import type { Context } from 'aws-lambda';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { sqs } from '../../shared/adapters/sqs';
import { required, settings } from '../../shared/config';
import { BacklogStateStore } from '../../shared/deliveries/backlog';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { sweepDoorbells, type SweepReport } from '../../shared/delivery/sweeper';
import { logger } from '../../shared/observability/logger';
import { count, gaugeSeconds, publishMetrics } from '../../shared/observability/metrics';
import { METRICS } from '../../shared/wiring';

let state: BacklogStateStore | undefined;

/** The sweeper schedule's target: re-rings overdue doorbells and publishes the oldest due backlog's age. */
export async function handler(_event: unknown, context: Context): Promise<SweepReport> {
  const config = settings();
  state ??= new BacklogStateStore(dynamoDb(), config.TABLE_NAME, new DoorbellQueue(sqs(), required('DELIVERY_QUEUE_URL')));
  logger.addContext(context);
  const report = await sweepDoorbells(state, { overdueAfterSeconds: config.DOORBELL_OVERDUE_SECONDS });
  gaugeSeconds(METRICS.oldestDueBacklogSeconds, report.oldestDueSeconds);
  if (report.rungAgain > 0) {
    count(METRICS.doorbellsRungAgain, report.rungAgain);
    logger.warn('overdue doorbells rung again', { ...report });
  }
  publishMetrics();
  return report;
}
