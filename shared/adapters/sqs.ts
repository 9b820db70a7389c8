import { SQSClient } from '@aws-sdk/client-sqs';
import { lazy } from '../lazy';

/**
 * One SQS client per container; `AWS_ENDPOINT_URL_SQS` points it at the local queues. Its
 * middleware stack is resolved once per command type rather than on every call (nothing adds
 * middleware later): a fifth of an SQS call's CPU.
 */
export const sqs = /* @__PURE__ */ lazy(() => new SQSClient({ cacheMiddleware: true }));
