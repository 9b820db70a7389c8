import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../wiring';

/** CloudWatch metrics as EMF log lines, once per container; the alarms watch these names. */
export const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });

export function count(name: (typeof METRICS)[keyof typeof METRICS], value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/** Flushes this invocation's metrics; an invocation that counted nothing writes nothing. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
