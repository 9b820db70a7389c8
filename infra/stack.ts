import { CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './constructs/alarms';
import { Api } from './constructs/api';
import { Batch } from './constructs/batch';
import { Delivery, DeliveryQueues } from './constructs/delivery';
import { Ingest } from './constructs/ingest';
import { Storage } from './constructs/storage';
import { readDeploymentContext } from './context';
import { settingsEnvironment } from './environment';

const SECONDS_PER_DAY = 24 * 3600;

/**
 * The whole service in one stack. Deployment choices come from CDK context (see
 * the README's "Deploy to AWS"); the JWT issuer and audience are stack parameters, so one synthesized
 * template serves any identity provider.
 */
export class LmsWebhooksStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const context = readDeploymentContext(this.node);

    const jwtIssuer = new CfnParameter(this, 'JwtIssuer', {
      type: 'String',
      description: 'Issuer (iss) of the admin API tokens; its OpenID configuration must be reachable over https.',
      allowedPattern: '^https://\\S+$',
      constraintDescription: 'an https URL',
    });
    const jwtAudience = new CfnParameter(this, 'JwtAudience', {
      type: 'CommaDelimitedList',
      description: 'Accepted audience (aud) values of the admin API tokens, comma-separated.',
    });

    const storage = new Storage(this, 'Storage');
    const deliveryQueues = new DeliveryQueues(this, 'DeliveryQueues');
    const environment = settingsEnvironment({
      TABLE_NAME: storage.table.tableName,
      EVENT_BUS_NAME: context.eventBusName,
      DELIVERY_QUEUE_URL: deliveryQueues.queue.queueUrl,
      DELIVERY_DLQ_URL: deliveryQueues.deadLetterQueue.queueUrl,
      ACCOUNT_CLAIM: context.accountClaim,
      MAX_WEBHOOKS_PER_ACCOUNT: String(context.maxWebhooksPerAccount),
      ALLOW_PRIVATE_TARGETS: 'false',
      BATCH_MAX_EVENTS: String(context.batchMaxEvents),
      BATCH_SCHEDULE: context.batchSchedule,
      RETRY_WINDOW_SECONDS: String(context.retryWindowDays * SECONDS_PER_DAY),
      DELIVERY_LOG_TTL_DAYS: String(context.deliveryLogTtlDays),
    });
    const shared = { table: storage.table, environment };

    const ingest = new Ingest(this, 'Ingest', {
      ...shared,
      eventBusName: context.eventBusName,
      deliveryQueue: deliveryQueues.queue,
    });
    const delivery = new Delivery(this, 'Delivery', {
      ...shared,
      queues: deliveryQueues,
      bus: ingest.bus,
      maxConcurrency: context.deliveryMaxConcurrency,
    });
    const batch = new Batch(this, 'Batch', {
      ...shared,
      schedule: context.batchSchedule,
      deliveryQueue: deliveryQueues.queue,
      bus: ingest.bus,
    });
    const api = new Api(this, 'Api', {
      ...shared,
      jwtIssuer: jwtIssuer.valueAsString,
      jwtAudience: jwtAudience.valueAsList,
      deliveryQueue: deliveryQueues.queue,
      corsOrigins: context.corsOrigins,
      consoleClientId: context.consoleClientId,
    });
    new Alarms(this, 'Alarms', {
      deadLetterQueues: { Ingest: ingest.deadLetterQueue, Delivery: deliveryQueues.deadLetterQueue },
      functions: { Api: api.function, Router: ingest.function, Delivery: delivery.function, Aggregator: batch.function },
      alarmEmail: context.alarmEmail,
    });

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Base URL of the admin API' });
    new CfnOutput(this, 'ConsoleUrl', { value: `${api.url}console`, description: 'The admin console' });
    new CfnOutput(this, 'EventBusName', { value: ingest.bus.eventBusName, description: 'EventBusName for PutEvents' });
    new CfnOutput(this, 'EventBusArn', { value: ingest.bus.eventBusArn, description: 'The Resource in producers\' events:PutEvents permission' });
    new CfnOutput(this, 'TableName', { value: storage.table.tableName });
    new CfnOutput(this, 'IngestDeadLetterQueueUrl', { value: ingest.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', { value: deliveryQueues.deadLetterQueue.queueUrl });
  }
}
