import { SQSClient } from '@aws-sdk/client-sqs';

let client: SQSClient | undefined;

/** One SQS client per container; `AWS_ENDPOINT_URL_SQS` points it at the local queues. */
export function sqs(): SQSClient {
  client ??= new SQSClient({});
  return client;
}
