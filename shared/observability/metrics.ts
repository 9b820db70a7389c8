import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../wiring';

/**
 * CloudWatch metrics as EMF log lines, one instance per container, created on first use so that it
 * sees the environment the host set up (the local runtime switches metrics off before invoking).
 * The alarms watch these names.
 */
let instance: Metrics | undefined;

function metrics(): Metrics {
  instance ??= new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
  return instance;
}

export function count(name: (typeof METRICS)[keyof typeof METRICS], value = 1): void {
  metrics().addMetric(name, MetricUnit.Count, value);
}

export function gaugeSeconds(name: (typeof METRICS)[keyof typeof METRICS], value: number): void {
  metrics().addMetric(name, MetricUnit.Seconds, value);
}

/** Flushes this invocation's metrics; an invocation that counted nothing writes nothing. */
export function publishMetrics(): void {
  if (instance?.hasStoredMetrics()) instance.publishStoredMetrics();
}
