import { join } from 'node:path';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const PROJECT_ROOT = join(__dirname, '..');

/** ESM bundles still meet CommonJS dependencies that call `require`; give them one. */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** What every function gets: read/write on the service's table, and the settings environment. */
export interface ServiceContext {
  readonly table: ITable;
  /** From `settingsEnvironment`. */
  readonly environment: Record<string, string>;
}

export interface ServiceFunctionProps {
  /** The folder under `functions/` whose `handler.ts` exports `handler`. */
  readonly name: 'api' | 'router' | 'delivery' | 'aggregator';
  /** One of the `*_FUNCTION` entries of shared/wiring.ts. */
  readonly sizing: { readonly timeoutSeconds: number; readonly memoryMb: number };
  readonly context: ServiceContext;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Files to add to the package after esbuild (the api function's console).
   * @default - the bundle only
   */
  readonly commandHooks?: ICommandHooks;
}

/**
 * One of the service's Lambdas, built the same way for all four: the local esbuild (no Docker),
 * minified ESM with source maps, latest Node runtime on arm64, X-Ray, its own log group, and a
 * role that can write only to that log group and the table (no AWS-managed policy); callers add
 * the other grants.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  private readonly role: Role;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.role = role;

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, 'functions', props.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: Duration.seconds(props.sizing.timeoutSeconds),
      memorySize: props.sizing.memoryMb,
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      environment: { ...props.context.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        banner: CREATE_REQUIRE_BANNER,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The Node runtime ships AWS SDK v3; bundling it would only grow the package.
        externalModules: ['@aws-sdk/*'],
        logLevel: LogLevel.WARNING,
        ...(props.commandHooks && { commandHooks: props.commandHooks }),
      },
    });

    this.grantReadWriteData(props.context.table);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
  }

  /** Item reads and writes on the table and its indexes. */
  private grantReadWriteData(table: ITable): void {
    table.grantReadWriteData(this.function);
    const tableId = Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement);
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
      reason: "Queries the table's own secondary indexes; index ARNs are paths under the table ARN, so the wildcard spans only this table's indexes.",
    });
  }
}
