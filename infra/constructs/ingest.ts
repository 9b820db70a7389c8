import { Duration } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { AccountPrincipal, AnyPrincipal, Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../shared/config';
import { INGEST_QUEUE, ROUTER_FUNCTION } from '../../shared/wiring';
import { type ServiceContext, ServiceFunction } from '../lambda';
import { EVENT_SOURCE, INGEST_EVENT_PATTERN, SERVICE_SOURCES_PATTERN } from '../../shared/events/sources';

export interface IngestProps extends ServiceContext {
  /** The bus producers name in PutEvents; a contract value, so the one fixed physical name here. */
  readonly eventBusName: string;
  /**
   * Concurrency reserved for the router, which is also its event source's ceiling (so SQS is not
   * throttled into the dead-letter queue): a delivery storm cannot stop events coming in.
   * @default 10
   */
  readonly routerConcurrency?: number;
  /**
   * Other AWS accounts whose producers may put events on the bus, with Source `lms` only.
   * @default - producers of this account only
   */
  readonly producerAccounts?: readonly string[];
}

/**
 * Producer events in: the bus, a rule taking every `lms` event to the ingest queue, and the
 * router Lambda that consumes it. Events the queue cannot take, and messages the router keeps
 * failing on, land in the ingest dead-letter queue rather than being dropped.
 */
export class Ingest extends Construct {
  readonly bus: EventBus;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: IFunction;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { eventBusName: props.eventBusName });
    for (const account of props.producerAccounts ?? []) {
      this.bus.addToResourcePolicy(
        new PolicyStatement({
          sid: `Producer${account}`,
          principals: [new AccountPrincipal(account)],
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': EVENT_SOURCE } },
        }),
      );
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.seconds(INGEST_QUEUE.dlqRetentionSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(INGEST_QUEUE.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(INGEST_QUEUE.retentionSeconds),
      // SQS-managed keys: EventBridge can send to the queue without a KMS key policy.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: INGEST_QUEUE.maxReceiveCount },
    });

    new Rule(this, 'Rule', {
      eventBus: this.bus,
      description: 'Every producer event to the ingest queue; the router accepts or rejects it.',
      eventPattern: { source: [...INGEST_EVENT_PATTERN.source] },
      targets: [new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue })],
    });

    const concurrency = props.routerConcurrency ?? DEFAULTS.routerReservedConcurrency;
    const fn = new ServiceFunction(this, 'Router', { name: 'router', sizing: ROUTER_FUNCTION, context: props, reservedConcurrency: concurrency }).function;
    fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: INGEST_QUEUE.batchSize, reportBatchItemFailures: true, maxConcurrency: concurrency }),
    );
    this.function = fn;
  }

  /**
   * Denies PutEvents with the service's own Sources (`lms.webhooks*`) to everyone but `roles`, whatever their
   * own policies or the bus's other statements allow: a producer cannot forge the service's
   * notices (WEBHOOK_DISABLED) or its batch continuations.
   */
  reserveServiceSources(roles: readonly IRole[]): void {
    this.bus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheServicePutsItsOwnSources',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: {
          StringLike: { 'events:source': SERVICE_SOURCES_PATTERN },
          ArnNotEquals: { 'aws:PrincipalArn': roles.map((role) => role.roleArn) },
        },
      }),
    );
  }
}
