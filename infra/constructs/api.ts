import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULTS, type SettingName } from '../../shared/config';
import { ROUTES, type RouteDefinition } from '../../shared/api/routes';
import { API_FUNCTION } from '../../shared/wiring';
import { type ServiceContext, ServiceFunction } from '../lambda';

export interface ApiProps extends ServiceContext {
  /** The JWT issuer URL (https); API Gateway fetches its keys from `<issuer>/.well-known/openid-configuration`. */
  readonly jwtIssuer: string;
  /** Accepted `aud` values. */
  readonly jwtAudience: string[];
  /**
   * Whether each route requires its OAuth scope (shared/api/routes.ts) in the token's `scope` claim.
   * @default true
   */
  readonly requireScopes?: boolean;
  /**
   * Concurrency reserved for the API function, so a delivery storm cannot take all of the account's.
   * @default 20
   */
  readonly reservedConcurrency?: number;
  /**
   * Browser origins allowed to call the API.
   * @default - CORS off (no preflight answers, no CORS headers)
   */
  readonly corsOrigins?: string[];
  /**
   * Steady-state requests per second across the API.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst of requests allowed above the rate.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: RetentionDays;
  /**
   * The admin console's OpenID Connect client id at the JWT issuer (authorization code + PKCE).
   * @default - the console signs in with a pasted token only
   */
  readonly consoleClientId?: string;
}

/** HTTP API over the one API Lambda, a route per entry of shared/api/routes.ts. */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly function: IFunction;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const fn = new ServiceFunction(this, 'Handler', {
      name: 'api',
      sizing: API_FUNCTION,
      context: props,
      reservedConcurrency: props.reservedConcurrency ?? DEFAULTS.apiReservedConcurrency,
      commandHooks: CONSOLE_BUILD,
    }).function;
    if (props.consoleClientId) {
      const consoleSettings: { [K in Extract<SettingName, `CONSOLE_OIDC_${string}`>]: string } = {
        CONSOLE_OIDC_ISSUER: props.jwtIssuer,
        CONSOLE_OIDC_CLIENT_ID: props.consoleClientId,
      };
      for (const [name, value] of Object.entries(consoleSettings)) fn.addEnvironment(name, value);
    }
    this.function = fn;

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'LMS webhooks admin API',
      createDefaultStage: false,
      corsPreflight: props.corsOrigins?.length
        ? {
            allowOrigins: props.corsOrigins,
            allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PATCH, CorsHttpMethod.DELETE],
            allowHeaders: ['authorization', 'content-type'],
            exposeHeaders: ['location'],
            maxAge: Duration.hours(1),
          }
        : undefined,
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });

    const authorizer = new HttpJwtAuthorizer('Jwt', props.jwtIssuer, { jwtAudience: props.jwtAudience });
    const integration = new HttpLambdaIntegration('Lambda', fn);
    const routes: readonly RouteDefinition[] = ROUTES;
    const requireScopes = props.requireScopes ?? DEFAULTS.requireScopes;
    for (const route of routes) {
      const isPublic = route.public === true;
      const httpRoute = new HttpRoute(this, route.operationId, {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration,
        authorizer: isPublic ? undefined : authorizer,
        authorizationScopes: route.scope && requireScopes ? [route.scope] : undefined,
      });
      if (isPublic) {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by contract (liveness probe, API description or the console's static files); it reads no account data.`,
        });
      }
    }
  }

  get url(): string {
    return this.stage.url;
  }
}

/** The console's files go into the api function's package, beside index.mjs (see functions/api/handler.ts). */
const CONSOLE_BUILD: ICommandHooks = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (inputDir, outputDir) => [`cd "${inputDir}" && node --import tsx console/build.ts "${outputDir}/console"`],
};

/** One JSON line per request, with what is needed to trace a caller's problem to a Lambda log. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTimeEpoch',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integration.latency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  }),
);
