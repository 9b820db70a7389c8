/**
 * Imported first by the benchmark: the handlers' Powertools Logger reads its level when its module
 * loads, before the local runtime starts. A log line per admin request or delivery would bury the
 * report; warnings still show.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
