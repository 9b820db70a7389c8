import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../shared/observability/metric-names';

export interface AlarmsProps {
  /** Dead-letter queues by a short label ("Ingest"); any message in one raises an alarm. */
  readonly deadLetterQueues: Record<string, IQueue>;
  /** Producer events waiting for the router: an alarm when the oldest has waited too long. */
  readonly ingestQueue: IQueue;
  /** The service's functions by label; any error or throttle raises an alarm. */
  readonly functions: Record<string, IFunction>;
  /**
   * Subscribed to the alarm topic (the address must confirm the subscription).
   * @default - no subscription; subscribe to the topic yourself
   */
  readonly alarmEmail?: string;
  /**
   * Percentage of failed delivery attempts, sustained for 15 minutes, that raises the alarm.
   * @default 25
   */
  readonly failureRatePercent?: number;
  /**
   * Seconds the oldest producer event may wait in the ingest queue before the alarm.
   * @default 300
   */
  readonly maxIngestAgeSeconds?: number;
  /**
   * Seconds a webhook's due backlog may wait unanswered (the sweeper's metric) before the alarm.
   * @default 900
   */
  readonly maxDueBacklogAgeSeconds?: number;
}

const PERIOD = Duration.minutes(5);

/**
 * What an operator is told about: dead letters, a high delivery failure rate, rejected producer
 * events, and function errors or throttles, all to one encrypted SNS topic; plus a dashboard.
 */
export class Alarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = this.createTopic(props.alarmEmail);

    // Alarms watch plain metrics; the dashboard shows the same ones under readable labels.
    const deadLetterMetrics = Object.entries(props.deadLetterQueues).map(([label, queue]) => {
      const metric = queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' });
      this.alarmAbove(`${label}DeadLetters`, metric, 0, `Messages in the ${label.toLowerCase()} dead-letter queue.`);
      return metric.with({ label: `${label} DLQ` });
    });

    const serviceMetric = (metricName: string) =>
      new Metric({
        namespace: METRICS.namespace,
        metricName,
        dimensionsMap: { service: METRICS.service },
        statistic: 'Sum',
        period: PERIOD,
      });
    const attempts = serviceMetric(METRICS.deliveryAttempts);
    const failures = serviceMetric(METRICS.deliveryFailures);
    const rejected = serviceMetric(METRICS.rejectedEvents);
    const failureRate = new MathExpression({
      expression: 'IF(attempts > 0, 100 * failures / attempts, 0)',
      usingMetrics: { attempts, failures },
      period: PERIOD,
      label: 'Delivery failure rate (%)',
    });
    this.alarmAbove(
      'DeliveryFailureRate',
      failureRate,
      props.failureRatePercent ?? 25,
      'Share of failed delivery attempts (listeners answering non-2xx or not at all).',
      3,
    );
    this.alarmAbove('RejectedEvents', rejected, 0, 'Producer events the router rejected (unknown name, bad detail).');

    const ingestAge = props.ingestQueue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' });
    this.alarmAbove('IngestAge', ingestAge, props.maxIngestAgeSeconds ?? 300, 'Producer events are waiting too long for the router.');
    const dueBacklogAge = new Metric({
      namespace: METRICS.namespace,
      metricName: METRICS.oldestDueBacklogSeconds,
      dimensionsMap: { service: METRICS.service },
      statistic: 'Maximum',
      period: PERIOD,
    });
    this.alarmAbove(
      'DueBacklogAge',
      dueBacklogAge,
      props.maxDueBacklogAgeSeconds ?? 900,
      "A webhook's due deliveries have waited unanswered too long (the sweeper's OldestDueBacklogSeconds).",
    );

    const errors: IMetric[] = [];
    const throttles: IMetric[] = [];
    for (const [label, fn] of Object.entries(props.functions)) {
      const fnErrors = fn.metricErrors({ period: PERIOD });
      const fnThrottles = fn.metricThrottles({ period: PERIOD });
      this.alarmAbove(`${label}Errors`, fnErrors, 0, `The ${label.toLowerCase()} function failed.`);
      this.alarmAbove(`${label}Throttles`, fnThrottles, 0, `The ${label.toLowerCase()} function was throttled.`);
      errors.push(fnErrors.with({ label }));
      throttles.push(fnThrottles.with({ label }));
    }

    new Dashboard(this, 'Dashboard', {
      widgets: [
        [new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
        [
          new GraphWidget({ title: 'Deliveries', left: [attempts, failures], right: [failureRate], width: 12 }),
          new GraphWidget({ title: 'Dead letters and rejected events', left: deadLetterMetrics, right: [rejected], width: 12 }),
        ],
        [
          new GraphWidget({ title: 'Oldest producer event waiting (s)', left: [ingestAge.with({ label: 'Ingest' })], width: 12 }),
          new GraphWidget({ title: 'Oldest due backlog waiting (s)', left: [dueBacklogAge.with({ label: 'Backlog' })], width: 12 }),
        ],
        [
          new GraphWidget({ title: 'Function errors', left: errors, width: 12 }),
          new GraphWidget({ title: 'Function throttles', left: throttles, width: 12 }),
        ],
      ],
    });
  }

  private createTopic(alarmEmail: string | undefined): Topic {
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic gets its own.
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the LMS webhooks alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const stack = Stack.of(this);
    const alarmArns = stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': alarmArns },
    };
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    // The statement AWS documents for alarms publishing to an encrypted topic.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    return topic;
  }

  private alarmAbove(id: string, metric: IMetric, threshold: number, description: string, periods = 1): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: periods,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
