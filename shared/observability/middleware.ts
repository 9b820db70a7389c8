import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from './logger';
import { metrics } from './metrics';

/**
 * Every function's Lambda plumbing, as middleware around its core: the invocation's context on
 * every log line (keys of the last invocation cleared), a cold-start metric, and the metrics
 * flushed after the core returns or throws.
 */
export function lambdaHandler<TEvent, TResult>(core: (event: TEvent, context: Context) => Promise<TResult>) {
  return middy(core)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
