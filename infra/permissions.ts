import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { INTERNAL_SOURCE, NOTICE_SOURCE } from '../shared/events/sources';

/** The service's functions, by their folder under `functions/`. */
export type FunctionName = 'api' | 'router' | 'delivery' | 'aggregator' | 'sweeper';

/** What one function may do, per resource: exactly the calls its code makes. */
export interface FunctionPermissions {
  /** Item actions on the table (a TransactWriteItems needs the action of each of its items). */
  readonly table: readonly string[];
  /** Actions on the table's secondary indexes. */
  readonly tableIndexes?: readonly string[];
  /** Beyond what a consumer's SQS event source grants itself (receive, delete, visibility). */
  readonly deliveryQueue?: readonly string[];
  readonly deliveryDeadLetterQueue?: readonly string[];
  readonly credentialsKey?: readonly string[];
  /** PutEvents on the service bus, only with this Source. */
  readonly putEventsSource?: string;
}

/**
 * Every function's grants, in one place. Derived from the calls each handler's code makes; when
 * a function starts or stops making a call, change its line here (test/infra asserts this table).
 */
export const FUNCTION_PERMISSIONS: Readonly<Record<FunctionName, FunctionPermissions>> = {
  // Webhooks CRUD (transactions with the account counter and webhooks version), the delivery log
  // (FAILED/SKIPPED/HELD through the index, then BatchGetItem), test, redeliver and its ring, held
  // counts and release (index Query, UpdateItem), replays, the batch summary (BatchGetItem); seals
  // and opens credentials.
  api: {
    table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    tableIndexes: ['dynamodb:Query'],
    deliveryQueue: ['sqs:SendMessage'],
    credentialsKey: ['kms:GenerateDataKey', 'kms:Decrypt'],
  },
  // The account's webhooks version (GetItem) and webhooks (Query), pinned event times, deliveries and
  // their webhook's doorbell state, batch backlog, rejected events.
  router: {
    table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    deliveryQueue: ['sqs:SendMessage'],
  },
  // The webhook with its backlog state (BatchGetItem), a page of the backlog (Query), successes a
  // page at a time (BatchWriteItem), each failed attempt, skip, hold and disable (with the account's
  // webhooks version), a replay's next page (GetItem of the replay, Query of its range, PutItem of
  // the copies); opens credentials to sign. Holds a doorbell waiting for a retry and deletes a
  // drained one at once (not only when the batch returns).
  delivery: {
    table: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    deliveryQueue: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'],
    deliveryDeadLetterQueue: ['sqs:SendMessage'],
    credentialsKey: ['kms:Decrypt'],
    putEventsSource: NOTICE_SOURCE,
  },
  // Due webhooks (index), leases, reading and removing the pending events (BatchWriteItem),
  // deliveries and their webhook's doorbell state.
  aggregator: {
    table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    tableIndexes: ['dynamodb:Query'],
    deliveryQueue: ['sqs:SendMessage'],
    putEventsSource: INTERNAL_SOURCE,
  },
  // Rung doorbells due by now (index), and ringing an overdue one again.
  sweeper: {
    table: ['dynamodb:UpdateItem'],
    tableIndexes: ['dynamodb:Query'],
    deliveryQueue: ['sqs:SendMessage'],
  },
};

export interface GrantableResources {
  readonly table: ITable;
  readonly deliveryQueue: IQueue;
  readonly deliveryDeadLetterQueue: IQueue;
  readonly credentialsKey: IKey;
  readonly bus: IEventBus;
}

/** The function's execution role (the service's functions all have their own). */
export function roleOf(fn: IFunction): IRole {
  if (!fn.role) throw new Error(`${fn.node.path} has no execution role to grant to.`);
  return fn.role;
}

/** Adds the function's FUNCTION_PERMISSIONS to its role. */
export function grantFunctionPermissions(name: FunctionName, fn: IFunction, resources: GrantableResources): void {
  const role = roleOf(fn);
  const permissions = FUNCTION_PERMISSIONS[name];
  const allow = (actions: readonly string[] | undefined, resourceArns: string[], conditions?: Record<string, unknown>) => {
    if (actions?.length) role.addToPrincipalPolicy(new PolicyStatement({ actions: [...actions], resources: resourceArns, conditions }));
  };
  const { table } = resources;
  allow(permissions.table, [table.tableArn]);
  allow(permissions.tableIndexes, [`${table.tableArn}/index/*`]);
  allow(permissions.deliveryQueue, [resources.deliveryQueue.queueArn]);
  allow(permissions.deliveryDeadLetterQueue, [resources.deliveryDeadLetterQueue.queueArn]);
  allow(permissions.credentialsKey, [resources.credentialsKey.keyArn]);
  if (permissions.putEventsSource) {
    allow(['events:PutEvents'], [resources.bus.eventBusArn], { StringEquals: { 'events:source': permissions.putEventsSource } });
  }
  if (permissions.tableIndexes?.length) {
    const tableId = Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
      reason: "Queries the table's own secondary indexes; index ARNs are paths under the table ARN, so the wildcard spans only this table's indexes.",
    });
  }
}
