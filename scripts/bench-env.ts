/**
 * Imported first by the benchmark: the handlers' Powertools Metrics and Logger read their settings
 * when their modules load, before the local runtime sets them. One machine has no CloudWatch to
 * write EMF lines for, and a line per admin request would bury the report; warnings still show.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
