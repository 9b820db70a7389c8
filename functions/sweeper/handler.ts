import { settings } from '../../shared/config';
import { backlogState } from '../../shared/container';
import { sweepDoorbells, type SweepReport } from '../../shared/deliveries/sweeper';
import { logger } from '../../shared/observability/logger';
import { count, gaugeSeconds } from '../../shared/observability/metrics';
import { lambdaHandler } from '../../shared/observability/middleware';
import { METRICS } from '../../shared/observability/metric-names';

/** The sweeper schedule's target: re-rings overdue doorbells and publishes the oldest due backlog's age. */
async function sweep(): Promise<SweepReport> {
  const report = await sweepDoorbells(backlogState(), { overdueAfterSeconds: settings().DOORBELL_OVERDUE_SECONDS });
  gaugeSeconds(METRICS.oldestDueBacklogSeconds, report.oldestDueSeconds);
  if (report.rungAgain > 0) {
    count(METRICS.doorbellsRungAgain, report.rungAgain);
    logger.warn('overdue doorbells rung again', { ...report });
  }
  return report;
}

export const handler = lambdaHandler(sweep);
