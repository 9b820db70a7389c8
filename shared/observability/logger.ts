import { Logger } from '@aws-lambda-powertools/logger';
import { METRICS } from './metric-names';

/** One structured logger per container. Nothing that carries a secret is ever passed to it. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? METRICS.service });
