import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from './logger';
import { METRICS } from './metric-names';

/**
 * Powertools warns on every flush that has nothing to publish; most invocations count nothing by
 * design (an API read, a sweep with nothing overdue), so that one warning is dropped.
 */
const metricsLog = {
  debug: logger.debug.bind(logger),
  info: logger.info.bind(logger),
  warn: (message: string) => {
    if (!message.startsWith('No application metrics to publish')) logger.warn(message);
  },
  error: logger.error.bind(logger),
};

/**
 * CloudWatch metrics as EMF log lines, one instance per container, flushed after every invocation
 * (and when it throws) by the `logMetrics` middleware. It reads its environment when this module
 * is loaded, so the local runtime sets it (metrics off) before it imports the handlers. The alarms
 * watch these names.
 */
export const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service, logger: metricsLog });

export function count(name: (typeof METRICS)[keyof typeof METRICS], value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function gaugeSeconds(name: (typeof METRICS)[keyof typeof METRICS], value: number): void {
  metrics.addMetric(name, MetricUnit.Seconds, value);
}
