import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseSettings } from '../../shared/config';
import { nextFireTime, parseScheduleExpression } from '../../shared/schedule';
import { buildStack, logicalId } from './synth';

/** One synth with every context key changed from its default. */
const built = buildStack({
  context: {
    eventBusName: 'school-events',
    accountClaim: 'tenant',
    batchSchedule: 'cron(0/30 * * * ? *)',
    maxWebhooksPerAccount: '8',
    retryWindowDays: '3',
    batchMaxEvents: 50,
    deliveryLogTtlDays: '90',
    deliveryMaxConcurrency: '20',
    alarmEmail: 'ops@example.com',
    corsOrigins: 'https://admin.example.com, https://lms.example.com',
    requireScopes: 'false',
    apiReservedConcurrency: '30',
    routerReservedConcurrency: '4',
    producerAccounts: '444455556666, 777788889999',
  },
});
let template: Template;
beforeAll(() => {
  template = Template.fromStack(built.stack);
});
afterAll(() => built.cleanup());

test('the batch schedule comes from context', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'cron(0/30 * * * ? *)',
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(built.stack, 'Batch/Aggregator/Function'), 'Arn'] } })],
  });
});

test('the settings reach every function', () => {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(functions.length).toBeGreaterThan(0);
  for (const fn of functions) {
    expect(fn.Properties.Environment.Variables).toMatchObject({
      EVENT_BUS_NAME: 'school-events',
      ACCOUNT_CLAIM: 'tenant',
      BATCH_SCHEDULE: 'cron(0/30 * * * ? *)',
      MAX_WEBHOOKS_PER_ACCOUNT: '8',
      RETRY_WINDOW_SECONDS: String(3 * 24 * 3600),
      BATCH_MAX_EVENTS: '50',
      DELIVERY_LOG_TTL_DAYS: '90',
    });
  }
});

test('bus name, delivery concurrency, alarm e-mail and CORS follow the context', () => {
  template.hasResourceProperties('AWS::Events::EventBus', { Name: 'school-events' });
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
  template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
    CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://admin.example.com', 'https://lms.example.com'] }),
  });
});

describe('invalid context fails the synth with the key named', () => {
  test.each([
    ['batchSchedule', 'rate(5 seconds)', /batchSchedule: Invalid rate expression "rate\(5 seconds\)": EventBridge rates are in minute\(s\), hour\(s\) or day\(s\)/],
    ['batchSchedule', 'rate(1 minutes)', /batchSchedule: .*singular unit "minute"/],
    ['batchSchedule', 'cron(0 12 * * ?)', /batchSchedule: .*six fields/],
    ['batchSchedule', 'cron(0 12 L,15 * ? *)', /batchSchedule: .*L, W or # in a list/],
    ['batchSchedule', 'at(2030-01-01T00:00:00)', /batchSchedule: .*expected rate/],
    ['retryWindowDays', '20', /retryWindowDays: at most 13/],
    ['eventBusName', 'default', /eventBusName: .*not "default"/],
    ['maxWebhooksPerAccount', 'many', /maxWebhooksPerAccount/],
    ['deliveryLogTtlDays', '5', /deliveryLogTtlDays: deliveryLogTtlDays \(5\) must be longer than retryWindowDays \(7\)/],
  ])('%s = %s', (key, value, message) => {
    expect(() => buildStack({ context: { [key]: value } })).toThrow(message);
  });

  test('a setting the functions would reject at cold start', () => {
    expect(() => buildStack({ context: { maxWebhooksPerAccount: '500' } })).toThrow(/MAX_WEBHOOKS_PER_ACCOUNT/);
  });
});

describe('one schedule parser at synth and at run time', () => {
  test.each(['rate(1 minute)', 'rate(2 hours)', 'cron(0 12 L * ? *)', 'cron(0 9 15W * ? *)', 'cron(30 8 ? * 6#3 *)', 'cron(0/15 8-17 ? * MON-FRI *)'])(
    '%s synthesizes, and the functions compute its next flush',
    (expression) => {
      const stack = buildStack({ context: { batchSchedule: expression } });
      try {
        Template.fromStack(stack.stack).hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: expression });
      } finally {
        stack.cleanup();
      }
      const settings = parseSettings({ TABLE_NAME: 'table', BATCH_SCHEDULE: expression });
      const next = nextFireTime(parseScheduleExpression(settings.BATCH_SCHEDULE, { allowSeconds: true }), new Date('2026-01-01T00:00:00Z'));
      expect(next.getTime()).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
    },
  );
});

test('requireScopes=false leaves the routes to the JWT check alone', () => {
  const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
  expect(routes.filter((r) => r.Properties.AuthorizationType === 'JWT').length).toBeGreaterThan(0);
  for (const route of routes) expect(route.Properties.AuthorizationScopes).toBeUndefined();
});

test('reserved concurrency of the API and the router comes from context; the router’s event source stays within it', () => {
  const fn = (path: string) => template.toJSON().Resources[logicalId(built.stack, `${path}/Function`)].Properties;
  expect(fn('Api/Handler').ReservedConcurrentExecutions).toBe(30);
  expect(fn('Ingest/Router').ReservedConcurrentExecutions).toBe(4);
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: logicalId(built.stack, 'Ingest/Router/Function') },
    ScalingConfig: { MaximumConcurrency: 4 },
  });
});

test('producer accounts may put events on the bus with Source lms only', () => {
  const statements = Object.values(template.findResources('AWS::Events::EventBusPolicy')).map((p) => p.Properties.Statement);
  for (const account of ['444455556666', '777788889999']) {
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Principal: { AWS: expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([`:iam::${account}:root`])] }) },
        Condition: { StringEquals: { 'events:source': 'lms' } },
      }),
    );
  }
  expect(() => buildStack({ context: { producerAccounts: '1234' } })).toThrow(/producerAccounts/);
});
