import { Template } from 'aws-cdk-lib/assertions';
import { buildStack, logicalId } from './synth';

/**
 * What each function's role may do, written out: the calls each handler makes today. A change of
 * what a function calls changes infra/permissions.ts and this list together.
 */
const built = buildStack();
let template: Template;
beforeAll(() => {
  template = Template.fromStack(built.stack);
});
afterAll(() => built.cleanup());

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown>; Principal?: unknown; Sid?: string };
const id = (path: string) => logicalId(built.stack, path);
const arnOf = (path: string) => ({ 'Fn::GetAtt': [id(path), 'Arn'] });
const roleArn = (fn: string) => arnOf(`${fn}/Role`);
const tableArn = arnOf('Storage/Table');
const indexArn = { 'Fn::Join': ['', [tableArn, '/index/*']] };

/** Every action the function's role allows, as `action @ resource [condition]` lines. */
function grantsOf(fn: string): string[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: id(`${fn}/Role`) })),
  );
  return policies
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .flatMap((s) => [s.Action].flat().map((action) => `${action} @ ${nameOf(s.Resource)}${s.Condition ? ` ${JSON.stringify(s.Condition)}` : ''}`))
    .sort();
}

function nameOf(resource: unknown): string {
  const text = JSON.stringify(resource);
  const named: [unknown, string][] = [
    [tableArn, 'table'],
    [indexArn, 'table/index/*'],
    [arnOf('DeliveryQueues/Queue'), 'deliveryQueue'],
    [arnOf('DeliveryQueues/DeadLetterQueue'), 'deliveryDLQ'],
    [arnOf('Ingest/Queue'), 'ingestQueue'],
    [arnOf('CredentialsKey/Key'), 'credentialsKey'],
    [arnOf('Ingest/Bus'), 'bus'],
    ['*', '*'],
  ];
  return named.find(([value]) => JSON.stringify(value) === text)?.[1] ?? (text.includes('Logs') ? 'logGroup' : text);
}

const BASE = ['logs:CreateLogStream @ logGroup', 'logs:PutLogEvents @ logGroup', 'xray:PutTelemetryRecords @ *', 'xray:PutTraceSegments @ *'];
const consumerOf = (queue: string) =>
  ['ChangeMessageVisibility', 'DeleteMessage', 'GetQueueAttributes', 'GetQueueUrl', 'ReceiveMessage'].map((a) => `sqs:${a} @ ${queue}`);
const on = (resource: string, ...actions: string[]) => actions.map((a) => `${a} @ ${resource}`);

const EXPECTED: Record<string, string[]> = {
  'Api/Handler': [
    ...on('table', 'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'),
    ...on('table/index/*', 'dynamodb:Query'),
    ...on('deliveryQueue', 'sqs:SendMessage'),
    ...on('credentialsKey', 'kms:Decrypt', 'kms:GenerateDataKey'),
  ],
  'Ingest/Router': [
    ...on('table', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'),
    ...consumerOf('ingestQueue'),
    ...on('deliveryQueue', 'sqs:SendMessage'),
  ],
  'Delivery/Handler': [
    ...on('table', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'),
    ...consumerOf('deliveryQueue'),
    ...on('deliveryQueue', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'),
    ...on('deliveryDLQ', 'sqs:SendMessage'),
    ...on('credentialsKey', 'kms:Decrypt'),
    'events:PutEvents @ bus {"StringEquals":{"events:source":"lms.webhooks"}}',
  ],
  'Batch/Aggregator': [
    ...on('table', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'),
    ...on('table/index/*', 'dynamodb:Query'),
    ...on('deliveryQueue', 'sqs:SendMessage'),
    'events:PutEvents @ bus {"StringEquals":{"events:source":"lms.webhooks.internal"}}',
  ],
  'Sweeper/Handler': [...on('table', 'dynamodb:UpdateItem'), ...on('table/index/*', 'dynamodb:Query'), ...on('deliveryQueue', 'sqs:SendMessage')],
};

describe('each function role allows exactly the calls its code makes', () => {
  test.each(Object.keys(EXPECTED))('%s', (fn) => {
    expect(grantsOf(fn)).toEqual([...BASE, ...EXPECTED[fn]!].sort());
  });

  test('no role may Scan, or write the table in bulk beyond the aggregator’s backlog removal and the drain’s successes', () => {
    const all = Object.keys(EXPECTED).flatMap(grantsOf);
    expect(all.filter((g) => g.startsWith('dynamodb:Scan'))).toEqual([]);
    expect(Object.keys(EXPECTED).filter((fn) => grantsOf(fn).some((g) => g.startsWith('dynamodb:BatchWriteItem')))).toEqual(['Delivery/Handler', 'Batch/Aggregator']);
  });
});

describe('the credentials key', () => {
  test('is customer-managed, rotated and retained', () => {
    const key = template.toJSON().Resources[id('CredentialsKey/Key')];
    expect(key).toMatchObject({ Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
  });

  test('its policy lets only the api seal and only the api and delivery functions decrypt', () => {
    const statements = template.toJSON().Resources[id('CredentialsKey/Key')].Properties.KeyPolicy.Statement as Statement[];
    const denyAllBut = (action: string) =>
      statements.find((s) => s.Effect === 'Deny' && [s.Action].flat().includes(action) && JSON.stringify(s.Principal) === JSON.stringify({ AWS: '*' }))?.Condition;
    expect(denyAllBut('kms:Decrypt')).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': [roleArn('Api/Handler'), roleArn('Delivery/Handler')] } });
    expect(denyAllBut('kms:GenerateDataKey*')).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': [roleArn('Api/Handler')] } });
    expect(denyAllBut('kms:Encrypt')).toEqual(denyAllBut('kms:GenerateDataKey*'));
  });

  test('its ARN reaches the functions as CREDENTIALS_KEY_ID', () => {
    const fn = template.toJSON().Resources[id('Delivery/Handler/Function')];
    expect(fn.Properties.Environment.Variables.CREDENTIALS_KEY_ID).toEqual(arnOf('CredentialsKey/Key'));
  });
});

describe('the bus', () => {
  test("denies the service's own sources to anyone but the delivery and aggregator roles", () => {
    const policies = Object.values(template.findResources('AWS::Events::EventBusPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties).toMatchObject({
      EventBusName: { Ref: id('Ingest/Bus') },
      Statement: {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: arnOf('Ingest/Bus'),
        Condition: {
          StringLike: { 'events:source': 'lms.webhooks*' },
          ArnNotEquals: { 'aws:PrincipalArn': [roleArn('Delivery/Handler'), roleArn('Batch/Aggregator')] },
        },
      },
    });
  });
});

describe('reserved concurrency', () => {
  test('the API and the router have their own, by default; the router’s event source stays within it', () => {
    const fn = (path: string) => template.toJSON().Resources[id(`${path}/Function`)].Properties;
    expect(fn('Api/Handler').ReservedConcurrentExecutions).toBe(20);
    expect(fn('Ingest/Router').ReservedConcurrentExecutions).toBe(10);
    expect(fn('Delivery/Handler').ReservedConcurrentExecutions).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id('Ingest/Router/Function') },
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});
