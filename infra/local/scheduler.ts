import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { nextFireTime, parseScheduleExpression } from '../../shared/schedule';
import { isoSeconds, LOCAL_ACCOUNT_ID } from './event-bus';
import { lambdaContext } from './lambda-context';

/**
 * The local stand-in for an EventBridge schedule rule with a Lambda target: invokes the handler
 * with a Scheduled Event on the schedule (rate(N seconds) allowed). Runs never overlap: a fire
 * time that comes while the previous run is still going is skipped, and the next one is the
 * first fire time after that run ends.
 */
export type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown> | unknown;

export interface SchedulerOptions {
  /** An EventBridge schedule expression; rate(N seconds) is accepted too. */
  readonly expression: string;
  readonly handler: ScheduledHandler;
  readonly functionName: string;
  readonly functionTimeoutMs: number;
  /** Names the rule in the event's `resources`. */
  readonly ruleName: string;
  readonly region: string;
  /** Failed runs. @default console.error */
  readonly onError?: (error: unknown) => void;
}

export interface Scheduler {
  /** Stops firing and resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const schedule = parseScheduleExpression(options.expression, { allowSeconds: true });
  const onError = options.onError ?? ((error: unknown) => console.error(`[${options.functionName}]`, error));
  const ruleArn = `arn:aws:events:${options.region}:${LOCAL_ACCOUNT_ID}:rule/${options.ruleName}`;
  const stopping = new AbortController();

  async function loop(): Promise<void> {
    let due = nextFireTime(schedule, new Date());
    while (!stopping.signal.aborted) {
      try {
        await sleep(Math.max(0, due.getTime() - Date.now()), undefined, { signal: stopping.signal });
      } catch {
        return;
      }
      await run(due);
      // Skip the fire times that passed during the run.
      while (due.getTime() <= Date.now()) due = nextFireTime(schedule, due);
    }
  }

  async function run(due: Date): Promise<void> {
    const event: ScheduledEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT_ID,
      time: isoSeconds(due),
      region: options.region,
      resources: [ruleArn],
      detail: {},
    };
    try {
      await options.handler(event, lambdaContext(options.functionName, options.functionTimeoutMs / 1000));
    } catch (error) {
      onError(error);
    }
  }

  const looping = loop();
  return {
    async stop() {
      stopping.abort();
      await looping;
    },
  };
}
