import { EventPattern, type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AGGREGATOR_FUNCTION } from '../../shared/wiring';
import { type ServiceContext, ServiceFunction } from '../lambda';
import { BATCH_CONTINUATION_EVENT_PATTERN } from '../../shared/events/sources';

export interface BatchProps extends ServiceContext {
  /** An EventBridge schedule expression, already checked by the deployment context's schedule rule. */
  readonly schedule: string;
  /** The service bus: a run that cannot finish in time puts a continuation event on it. */
  readonly bus: IEventBus;
}

/** The aggregator Lambda, run on the batch schedule to flush the batch events collected so far. */
export class Batch extends Construct {
  readonly function: IFunction;

  constructor(scope: Construct, id: string, props: BatchProps) {
    super(scope, id);
    const fn = new ServiceFunction(this, 'Aggregator', { name: 'aggregator', sizing: AGGREGATOR_FUNCTION, context: props }).function;
    new Rule(this, 'Schedule', {
      description: 'Flushes collected batch events to their webhooks.',
      schedule: Schedule.expression(props.schedule),
      targets: [new LambdaFunction(fn)],
    });
    new Rule(this, 'Continuation', {
      description: 'Continues a batch flush that ran out of time in one invocation.',
      eventBus: props.bus,
      eventPattern: BATCH_CONTINUATION_EVENT_PATTERN as unknown as EventPattern,
      targets: [new LambdaFunction(fn)],
    });
    this.function = fn;
  }
}
