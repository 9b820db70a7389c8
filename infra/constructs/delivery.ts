import { Duration, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../shared/config';
import { DELIVERY_FUNCTION, DELIVERY_QUEUE } from '../../shared/wiring';
import { type ServiceContext, ServiceFunction } from '../lambda';

/**
 * The FIFO delivery queue — a doorbell per webhook with work, one message group per webhook — and
 * its FIFO dead-letter queue. They exist before the functions because every function's
 * environment names them. High-throughput FIFO (limits and deduplication per message group), so
 * the queue's throughput grows with the number of webhooks.
 *
 * The queue has no SQS redrive policy on purpose: a doorbell held through a 7-day retry window is
 * received ~2,000 times, above SQS's maxReceiveCount cap of 1,000. Giving up is decided from each
 * delivery's history, crash loops from progress recorded in DynamoDB, and the handler moves
 * messages that are not doorbells to the dead-letter queue itself.
 */
export class DeliveryQueues extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      // Senders pass explicit deduplication ids (one per delivery), never the body's hash.
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(DELIVERY_QUEUE.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(DELIVERY_QUEUE.retentionSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo: true,
      // The handler moves a message here under its original deduplication id.
      contentBasedDeduplication: false,
      retentionPeriod: Duration.seconds(DELIVERY_QUEUE.dlqRetentionSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      redriveAllowPolicy: { redrivePermission: RedrivePermission.BY_QUEUE, sourceQueues: [this.queue] },
    });

    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'No SQS redrive policy on purpose: a doorbell held through the 7-day retry window at one attempt per 300 s is ' +
        "received ~2,000 times, above SQS's maxReceiveCount cap of 1,000; giving up and crash loops are decided from " +
        'DynamoDB, and the delivery handler itself moves messages that are not doorbells to the delivery dead-letter queue.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This is the delivery dead-letter queue. The delivery handler moves messages here itself because the ' +
        "delivery queue cannot name it in a redrive policy (the retry window exceeds SQS's maxReceiveCount cap of 1,000).",
    });
  }
}

export interface DeliveryProps extends ServiceContext {
  readonly queues: DeliveryQueues;
  /**
   * Upper bound on concurrent delivery Lambdas, which bounds the requests in flight to listeners.
   * @default DEFAULTS.deliveryMaxConcurrency (50)
   */
  readonly maxConcurrency?: number;
}

/** The delivery Lambda: answers each doorbell by draining the webhook's backlog, serial and in order. */
export class Delivery extends Construct {
  readonly function: IFunction;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const { queue } = props.queues;
    const fn = new ServiceFunction(this, 'Handler', { name: 'delivery', sizing: DELIVERY_FUNCTION, context: props }).function;

    fn.addEventSource(
      new SqsEventSource(queue, {
        // FIFO event sources take at most 10 messages and no batching window.
        batchSize: DELIVERY_QUEUE.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? DEFAULTS.deliveryMaxConcurrency,
      }),
    );
    this.function = fn;
  }
}
