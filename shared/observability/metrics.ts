import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../wiring';

/** CloudWatch metrics as EMF log lines, once per container; the alarms watch these names. */
export const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });

export function count(name: (typeof METRICS)[keyof typeof METRICS], value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}
