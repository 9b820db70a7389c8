/**
 * Imported first by the benchmark: the handlers' Powertools Metrics reads POWERTOOLS_METRICS_DISABLED
 * when its module loads, before the local runtime sets it, and one machine has no CloudWatch to
 * write EMF lines for.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
