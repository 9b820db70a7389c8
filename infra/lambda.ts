import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionName } from './permissions';

const PROJECT_ROOT = join(__dirname, '..');

/** ESM bundles still meet CommonJS dependencies that call `require`; give them one. */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** What every function gets: the settings environment. */
export interface ServiceContext {
  /** From `settingsEnvironment`. */
  readonly environment: Record<string, string>;
}

export interface ServiceFunctionProps {
  /** The folder under `functions/` whose `handler.ts` exports `handler`. */
  readonly name: FunctionName;
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
  /**
   * Concurrency set aside for this function alone, so that others scaling up cannot starve it.
   * @default - none: it shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
}

/**
 * One of the service's Lambdas, built the same way for all four: the local esbuild (no Docker),
 * minified ESM with source maps, latest Node runtime on arm64, X-Ray, its own log group, and a
 * role that can write only to that log group (no AWS-managed policy); the stack adds the grants
 * of infra/permissions.ts.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;

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
      reservedConcurrentExecutions: props.reservedConcurrency,
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

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
  }
}
