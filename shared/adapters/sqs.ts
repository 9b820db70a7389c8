import { SQSClient } from '@aws-sdk/client-sqs';
import { lazy } from '../lazy';

/** One SQS client per container; `AWS_ENDPOINT_URL_SQS` points it at the local queues. */
export const sqs = /* @__PURE__ */ lazy(() => new SQSClient({}));
