import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROUTES, type RouteDefinition } from '../../shared/api/routes';
import { DELIVERY_QUEUE, INGEST_QUEUE } from '../../shared/wiring';
import { buildStack, logicalId } from './synth';
import { METRICS } from '../../shared/observability/metric-names';

/** The default deployment, bundled once for the whole file. */
const built = buildStack({ bundle: true });
let template: Template;
const id = (path: string) => logicalId(built.stack, path);
const arnOf = (path: string) => ({ 'Fn::GetAtt': [id(path), 'Arn'] });

beforeAll(() => {
  template = Template.fromStack(built.stack);
});
afterAll(() => built.cleanup());

type Resource = { Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const resources = (type: string) => Object.values(template.findResources(type)) as Resource[];
const propertiesOf = (path: string): Record<string, any> => template.toJSON().Resources[id(path)].Properties;
const isEqual = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const QUEUES = ['Ingest/Queue', 'Ingest/DeadLetterQueue', 'DeliveryQueues/Queue', 'DeliveryQueues/DeadLetterQueue'];
const FUNCTIONS = ['Api/Handler', 'Ingest/Router', 'Delivery/Handler', 'Batch/Aggregator', 'Sweeper/Handler'];

describe('storage', () => {
  test('one table from TABLE_KEYS: on-demand, KMS-encrypted, PITR, TTL, sparse GSI', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['webhookId', 'accountId', 'leaseUntil'] },
        },
      ],
      TableName: Match.absent(),
    });
  });

  test('the table outlives the stack', () => {
    for (const table of resources('AWS::DynamoDB::Table')) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
  });
});

describe('queues', () => {
  test('the delivery queue is high-throughput FIFO, without content-based dedup and without an SQS redrive policy', () => {
    const queue = propertiesOf('DeliveryQueues/Queue');
    expect(queue).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: DELIVERY_QUEUE.visibilityTimeoutSeconds,
      MessageRetentionPeriod: DELIVERY_QUEUE.retentionSeconds,
    });
    expect(queue.RedrivePolicy).toBeUndefined();
    expect(queue.QueueName).toBeUndefined();
  });

  test('the delivery DLQ is FIFO and only the delivery queue may use it', () => {
    expect(propertiesOf('DeliveryQueues/DeadLetterQueue')).toMatchObject({
      FifoQueue: true,
      RedriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [arnOf('DeliveryQueues/Queue')] },
    });
  });

  test('the ingest queue redrives to the ingest DLQ after maxReceiveCount receives', () => {
    expect(propertiesOf('Ingest/Queue')).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: arnOf('Ingest/DeadLetterQueue'), maxReceiveCount: 5 },
      VisibilityTimeout: INGEST_QUEUE.visibilityTimeoutSeconds,
    });
  });

  test('every queue is encrypted and refuses non-TLS requests', () => {
    const policies = resources('AWS::SQS::QueuePolicy');
    for (const queue of QUEUES) {
      expect(propertiesOf(queue).SqsManagedSseEnabled).toBe(true);
      const policy = policies.find((p) => p.Properties.Queues.some((q: unknown) => isEqual(q, { Ref: id(queue) })));
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  test('the bus rule sends every lms event to the ingest queue', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'lms-webhooks' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: id('Ingest/Bus') },
      EventPattern: { source: ['lms'] },
      Targets: [Match.objectLike({ Arn: arnOf('Ingest/Queue'), DeadLetterConfig: { Arn: arnOf('Ingest/DeadLetterQueue') } })],
    });
  });
});

describe('functions', () => {
  test('SQS event sources report partial batch failures', () => {
    const mappings = resources('AWS::Lambda::EventSourceMapping');
    expect(mappings.map((m) => m.Properties.EventSourceArn)).toEqual(
      expect.arrayContaining([arnOf('Ingest/Queue'), arnOf('DeliveryQueues/Queue')]),
    );
    for (const mapping of mappings) expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });

  test('the delivery event source takes 10 messages with bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf('DeliveryQueues/Queue'),
      FunctionName: { Ref: id('Delivery/Handler/Function') },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  test('every function: latest Node on arm64, X-Ray active, own log group, source maps, settings', () => {
    for (const fn of FUNCTIONS) {
      const properties = propertiesOf(`${fn}/Function`);
      expect(properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: { Ref: id(`${fn}/Logs`) } },
        Environment: {
          Variables: expect.objectContaining({
            NODE_OPTIONS: '--enable-source-maps',
            TABLE_NAME: { Ref: id('Storage/Table') },
            EVENT_BUS_NAME: 'lms-webhooks',
            DELIVERY_QUEUE_URL: { Ref: id('DeliveryQueues/Queue') },
            DELIVERY_DLQ_URL: { Ref: id('DeliveryQueues/DeadLetterQueue') },
            ACCOUNT_CLAIM: 'accountId',
            MAX_WEBHOOKS_PER_ACCOUNT: '5',
            ALLOW_PRIVATE_TARGETS: 'false',
            BATCH_SCHEDULE: 'rate(15 minutes)',
            RETRY_WINDOW_SECONDS: String(7 * 24 * 3600),
            POWERTOOLS_SERVICE_NAME: METRICS.service,
            POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
          }),
        },
      });
      expect(properties.FunctionName).toBeUndefined();
      expect(propertiesOf(`${fn}/Logs`).RetentionInDays).toEqual(expect.any(Number));
    }
  });

  test('bundles are minified ESM with the createRequire banner and a source map, without the AWS SDK', () => {
    const assembly = built.app.synth();
    for (const fn of FUNCTIONS) {
      const assetHash = String(propertiesOf(`${fn}/Function`).Code.S3Key).replace(/\.zip$/, '');
      const assetDir = join(assembly.directory, `asset.${assetHash}`);
      const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith('import { createRequire')).toBe(true);
      expect(bundle).toMatch(/export\{[\w$]+ as handler\}/); // ESM, minified (unminified: `export {\n  handler\n}`)
      const sourceMap = JSON.parse(readFileSync(join(assetDir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      // The runtime provides the AWS SDK; nothing of it is bundled.
      expect(sourceMap.sources.filter((source) => source.includes('node_modules/@aws-sdk/'))).toEqual([]);
      // Cold start is bundle size: zod imported as a namespace tree-shakes to a fraction of its
      // whole (a `{ z }` import pulls in all of it, every locale included, ~450 KB).
      expect(sourceMap.sources.filter((source) => source.includes('/locales/') && !source.endsWith('/en.js'))).toEqual([]);
      expect(Buffer.byteLength(bundle)).toBeLessThan(256 * 1024);
    }
  });

  test('no IAM policy grants a wildcard action', () => {
    const actions = resources('AWS::IAM::Policy').flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()),
    );
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
  });

  test('roles carry no AWS-managed policies', () => {
    for (const role of resources('AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('api', () => {
  const routeKey = (route: RouteDefinition) => `${route.method} ${route.path}`;

  test('every route of ROUTES exists; all but /health, /openapi.json and the console use the JWT authorizer', () => {
    const deployed = new Map(
      resources('AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey as string, r.Properties]),
    );
    const routes: readonly RouteDefinition[] = ROUTES;
    expect([...deployed.keys()].sort()).toEqual(routes.map(routeKey).sort());
    const open = [...deployed].filter(([, props]) => props.AuthorizationType === 'NONE').map(([key]) => key);
    expect(open.sort()).toEqual(['GET /console', 'GET /console/{file}', 'GET /health', 'GET /openapi.json']);
    for (const [key, props] of deployed) {
      if (open.includes(key)) continue;
      expect(props).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: id('Api/HttpApi/Jwt') } });
    }
  });

  test('every protected route requires its scope from ROUTES', () => {
    const scopesByKey = Object.fromEntries(resources('AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationScopes]));
    const routes: readonly RouteDefinition[] = ROUTES;
    expect(scopesByKey).toEqual(Object.fromEntries(routes.map((r) => [routeKey(r), r.scope && [r.scope]])));
    expect(scopesByKey['GET /webhooks/{id}/signature']).toEqual(['webhooks:secrets']);
  });

  test('the JWT authorizer takes issuer and audience from stack parameters', () => {
    template.hasParameter('JwtIssuer', { Type: 'String' });
    template.hasParameter('JwtAudience', { Type: 'CommaDelimitedList' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: { Ref: 'JwtIssuer' }, Audience: { Ref: 'JwtAudience' } },
    });
  });

  test('the default stage is throttled and writes access logs; CORS is off', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: { DestinationArn: arnOf('Api/AccessLogs'), Format: Match.stringLikeRegexp('routeKey') },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });
});

describe('console', () => {
  test("the api function's package carries the built console, within its size budget", () => {
    const assembly = built.app.synth();
    const assetHash = String(propertiesOf('Api/Handler/Function').Code.S3Key).replace(/\.zip$/, '');
    const consoleDir = join(assembly.directory, `asset.${assetHash}`, 'console');
    expect(readFileSync(join(consoleDir, 'index.html'), 'utf8')).toContain('{{settings}}');
    const gzipped = ['app.js', 'app.css'].reduce((sum, file) => sum + gzipSync(readFileSync(join(consoleDir, file))).length, 0);
    expect(gzipped).toBeLessThan(100 * 1024);
  });

  test('without consoleClientId the console has no OpenID Connect settings; with it, the issuer and client id', () => {
    expect(propertiesOf('Api/Handler/Function').Environment.Variables.CONSOLE_OIDC_CLIENT_ID).toBeUndefined();
    const withClient = buildStack({ context: { consoleClientId: 'console-spa' } });
    try {
      const variables = withClient.stack.resolve(
        (Template.fromStack(withClient.stack).toJSON().Resources[logicalId(withClient.stack, 'Api/Handler/Function')] as Resource).Properties.Environment.Variables,
      );
      expect(variables).toMatchObject({ CONSOLE_OIDC_ISSUER: { Ref: 'JwtIssuer' }, CONSOLE_OIDC_CLIENT_ID: 'console-spa' });
    } finally {
      withClient.cleanup();
    }
  });
});

describe('batch schedule', () => {
  test('the aggregator runs on the default schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: arnOf('Batch/Aggregator/Function') })],
    });
  });

  test('a flush that runs out of time continues through its own event on the bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: id('Ingest/Bus') },
      EventPattern: { source: ['lms.webhooks.internal'], 'detail-type': ['BATCH_FLUSH_CONTINUATION'] },
      Targets: [Match.objectLike({ Arn: arnOf('Batch/Aggregator/Function') })],
    });
  });
});

describe('sweeper', () => {
  test('runs every minute and may ring doorbells on the delivery queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: arnOf('Sweeper/Handler/Function') })],
    });
    const policies = resources('AWS::IAM::Policy').filter((p) => isEqual(p.Properties.Roles, [{ Ref: id('Sweeper/Handler/Role') }]));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => s.Action));
    expect(actions).toEqual(expect.arrayContaining(['sqs:SendMessage']));
  });
});

describe('alarms', () => {
  const topic = () => ({ Ref: id('Alarms/Topic') });

  test('the oldest producer event and the oldest due backlog raise alarms', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id('Ingest/Queue'), 'QueueName'] } }],
      Threshold: 300,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: METRICS.oldestDueBacklogSeconds,
      Statistic: 'Maximum',
      Threshold: 900,
    });
  });

  test('every alarm notifies the encrypted, TLS-only topic', () => {
    const alarms = resources('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic()]);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('any message in either dead-letter queue raises an alarm', () => {
    for (const dlq of ['Ingest/DeadLetterQueue', 'DeliveryQueues/DeadLetterQueue']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(dlq), 'QueueName'] } }],
      });
    }
  });

  test('the delivery failure rate is computed from the service metrics', () => {
    const serviceMetric = (metricName: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: { Namespace: METRICS.namespace, MetricName: metricName, Dimensions: [{ Name: 'service', Value: METRICS.service }] },
          Stat: 'Sum',
        }),
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('failures / attempts') }),
        serviceMetric(METRICS.deliveryAttempts),
        serviceMetric(METRICS.deliveryFailures),
      ]),
    });
  });

  test('rejected events raise an alarm', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: METRICS.rejectedEvents,
      Threshold: 0,
    });
  });

  test("each function's errors and throttles raise alarms", () => {
    for (const fn of FUNCTIONS) {
      for (const metricName of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(`${fn}/Function`) } }],
        });
      }
    }
  });

  test('a dashboard shows them', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: Match.absent() });
  });
});

test('outputs: API URL, bus name and ARN, table, both DLQ URLs', () => {
  const outputs = Object.keys(template.toJSON().Outputs);
  expect(outputs).toEqual(
    expect.arrayContaining([
      'ApiUrl',
      'EventBusName',
      'EventBusArn',
      'TableName',
      'IngestDeadLetterQueueUrl',
      'DeliveryDeadLetterQueueUrl',
    ]),
  );
});
