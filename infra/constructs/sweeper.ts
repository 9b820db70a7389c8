import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SWEEPER, SWEEPER_FUNCTION } from '../../shared/wiring';
import { type ServiceContext, ServiceFunction } from '../lambda';

export interface SweeperProps extends ServiceContext {
  /**
   * When the sweeper runs.
   * @default SWEEPER.schedule (every minute)
   */
  readonly schedule?: string;
}

/**
 * The sweeper Lambda on an EventBridge schedule: rings again every webhook whose backlog has due
 * work but whose doorbell is overdue (lost, or its drain crashed), and publishes the age of the
 * oldest due backlog for the alarm. Its grants are in infra/permissions.ts.
 */
export class Sweeper extends Construct {
  readonly function: IFunction;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const fn = new ServiceFunction(this, 'Handler', { name: 'sweeper', sizing: SWEEPER_FUNCTION, context: props }).function;
    new Rule(this, 'Schedule', {
      description: 'Rings overdue webhook doorbells again.',
      schedule: Schedule.expression(props.schedule ?? SWEEPER.schedule),
      targets: [new LambdaFunction(fn)],
    });
    this.function = fn;
  }
}
