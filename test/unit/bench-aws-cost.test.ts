import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { countAwsCalls } from '../../scripts/bench-aws-cost';

/** An SQS client whose calls succeed without a network: the counting hook sees each call and its answer. */
function answeringSqs(): SQSClient {
  const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  client.middlewareStack.add(() => async () => ({ output: { $metadata: {}, Successful: [], Failed: [] }, response: {} }), { step: 'initialize' });
  return client;
}

const standardQueue = 'http://127.0.0.1:1/000000000000/lms-webhooks-ingest';
const fifoQueue = 'http://127.0.0.1:1/000000000000/lms-webhooks-delivery.fifo';
const entries = (count: number) => Array.from({ length: count }, (_, i) => ({ Id: String(i), MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: `d${i}` }));

it("counts the local bus's batch to a standard queue as one SendMessage per event, as EventBridge's SQS target is billed", async () => {
  const counter = countAwsCalls(() => '');
  const sqs = answeringSqs();

  await sqs.send(new SendMessageBatchCommand({ QueueUrl: standardQueue, Entries: entries(7) }));
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: fifoQueue, Entries: entries(3) }));
  await sqs.send(new SendMessageCommand({ QueueUrl: fifoQueue, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }));

  const tally = counter.snapshot();
  expect(tally.sqsStandardRequests).toBe(7);
  expect(tally.sqsFifoRequests).toBe(2);
  expect(Object.fromEntries(tally.calls)).toEqual({
    'SQS SendMessage (standard, EventBridge target)': 7,
    'SQS SendMessageBatch (FIFO)': 1,
    'SQS SendMessage (FIFO)': 1,
  });
});
