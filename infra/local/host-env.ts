/**
 * Imported before the handlers: Powertools reads its environment as the handlers' logger and
 * metrics are created. CloudWatch metrics (EMF lines) mean nothing on one machine; logs stay on.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
