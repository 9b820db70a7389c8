import { CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './constructs/alarms';
import { Api } from './constructs/api';
import { CredentialsKey } from './constructs/credentials-key';
import { Batch } from './constructs/batch';
import { Delivery, DeliveryQueues } from './constructs/delivery';
import { Ingest } from './constructs/ingest';
import { Storage } from './constructs/storage';
import { Sweeper } from './constructs/sweeper';
import { readDeploymentContext } from './context';
import { settingsEnvironment } from './environment';
import { type FunctionName, grantFunctionPermissions, roleOf } from './permissions';

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
    const credentialsKey = new CredentialsKey(this, 'CredentialsKey');
    const deliveryQueues = new DeliveryQueues(this, 'DeliveryQueues');
    const environment = settingsEnvironment({
      TABLE_NAME: storage.table.tableName,
      CREDENTIALS_KEY_ID: credentialsKey.key.keyArn,
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

    const ingest = new Ingest(this, 'Ingest', {
      environment,
      eventBusName: context.eventBusName,
      routerConcurrency: context.routerReservedConcurrency,
      producerAccounts: context.producerAccounts,
    });
    const delivery = new Delivery(this, 'Delivery', {
      environment,
      queues: deliveryQueues,
      maxConcurrency: context.deliveryMaxConcurrency,
    });
    const batch = new Batch(this, 'Batch', {
      environment,
      schedule: context.batchSchedule,
      bus: ingest.bus,
    });
    const api = new Api(this, 'Api', {
      environment,
      jwtIssuer: jwtIssuer.valueAsString,
      jwtAudience: jwtAudience.valueAsList,
      requireScopes: context.requireScopes,
      reservedConcurrency: context.apiReservedConcurrency,
      corsOrigins: context.corsOrigins,
      consoleClientId: context.consoleClientId,
    });

    const sweeper = new Sweeper(this, 'Sweeper', { environment });

    const functions = { api: api.function, router: ingest.function, delivery: delivery.function, aggregator: batch.function, sweeper: sweeper.function };
    const resources = {
      table: storage.table,
      deliveryQueue: deliveryQueues.queue,
      deliveryDeadLetterQueue: deliveryQueues.deadLetterQueue,
      credentialsKey: credentialsKey.key,
      bus: ingest.bus,
    };
    for (const [name, fn] of Object.entries(functions)) grantFunctionPermissions(name as FunctionName, fn, resources);
    credentialsKey.restrictUse({ seal: [roleOf(api.function)], open: [roleOf(api.function), roleOf(delivery.function)] });
    ingest.reserveServiceSources( [roleOf(delivery.function), roleOf(batch.function)]);
    new Alarms(this, 'Alarms', {
      deadLetterQueues: { Ingest: ingest.deadLetterQueue, Delivery: deliveryQueues.deadLetterQueue },
      ingestQueue: ingest.queue,
      functions: { Api: functions.api, Router: functions.router, Delivery: functions.delivery, Aggregator: functions.aggregator, Sweeper: functions.sweeper },
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
